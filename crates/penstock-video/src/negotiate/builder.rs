//! [`OfferBuilder`]: offers of one size, DMA-BUF entries first, then their
//! shared-memory fallbacks.

use penstock::caps::Fraction;
use penstock::drm::{DrmFormatSet, DrmFourcc};

use super::{NegotiationError, Offer, OfferEntry, fourcc_from_code};
use crate::VideoFormat;

/// Builds an [`Offer`] of one size: see [`Offer::builder`].
#[derive(Debug, Clone)]
pub struct OfferBuilder {
    width: u32,
    height: u32,
    framerate: Option<Fraction>,
    dmabuf: Vec<(DrmFourcc, Vec<u64>)>,
    shm: Vec<VideoFormat>,
    fallback: bool,
    error: Option<NegotiationError>,
}

impl OfferBuilder {
    /// An empty builder (see [`Offer::builder`]).
    pub(super) fn new(width: u32, height: u32) -> OfferBuilder {
        OfferBuilder {
            width,
            height,
            framerate: None,
            dmabuf: Vec::new(),
            shm: Vec::new(),
            fallback: true,
            error: None,
        }
    }

    /// Sets the framerate of every entry.
    pub fn framerate(mut self, framerate: Fraction) -> Self {
        self.framerate = Some(framerate);
        self
    }

    /// Offers DMA-BUFs of `format` with `modifiers` (preferred first), and shared memory
    /// of `format` as fallback.
    pub fn format(self, format: VideoFormat, modifiers: impl IntoIterator<Item = u64>) -> Self {
        match format.drm_fourcc() {
            Some(fourcc) => self.dmabuf(fourcc, modifiers),
            // Every penstock format has a fourcc; shared memory is what is left otherwise.
            None => self.shared_memory(format),
        }
    }

    /// Offers DMA-BUFs of `fourcc` with `modifiers` (preferred first). Its
    /// shared-memory fallback is added when penstock has a format for the fourcc.
    pub fn dmabuf(mut self, fourcc: DrmFourcc, modifiers: impl IntoIterator<Item = u64>) -> Self {
        self.dmabuf.push((fourcc, modifiers.into_iter().collect()));
        self
    }

    /// [`OfferBuilder::dmabuf`] for a raw fourcc code (from IPC or a driver); an unknown
    /// code makes [`OfferBuilder::build`] fail with [`NegotiationError::UnknownFourcc`].
    pub fn dmabuf_code(self, code: u32, modifiers: impl IntoIterator<Item = u64>) -> Self {
        match fourcc_from_code(code) {
            Ok(fourcc) => self.dmabuf(fourcc, modifiers),
            Err(e) => {
                let mut b = self;
                b.error.get_or_insert(e);
                b
            }
        }
    }

    /// Offers every format of `set`, one DMA-BUF entry per fourcc with its modifiers
    /// (in ascending order), as a graphics API lists what it can import.
    pub fn dmabuf_set(mut self, set: &DrmFormatSet) -> Self {
        for f in set {
            match self.dmabuf.iter_mut().find(|(c, _)| *c == f.fourcc) {
                Some((_, ms)) => {
                    if !ms.contains(&f.modifier) {
                        ms.push(f.modifier);
                    }
                }
                None => self.dmabuf.push((f.fourcc, vec![f.modifier])),
            }
        }
        self
    }

    /// Offers shared memory of `format` only (after the DMA-BUF fallbacks).
    pub fn shared_memory(mut self, format: VideoFormat) -> Self {
        self.shm.push(format);
        self
    }

    /// Adds no automatic shared-memory fallbacks for the DMA-BUF formats.
    pub fn without_shm_fallback(mut self) -> Self {
        self.fallback = false;
        self
    }

    /// The offer: the DMA-BUF entries in the order given, then the shared-memory
    /// fallbacks of their formats in the same order, then the other shared-memory
    /// entries.
    ///
    /// # Errors
    /// As [`Offer::new`], and [`NegotiationError::UnknownFourcc`] from
    /// [`OfferBuilder::dmabuf_code`].
    pub fn build(self) -> Result<Offer, NegotiationError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (w, h, r) = (self.width, self.height, self.framerate);
        let with_rate = |mut e: OfferEntry| {
            e.framerate = r;
            e
        };
        let mut entries: Vec<OfferEntry> = self
            .dmabuf
            .iter()
            .map(|(fourcc, ms)| with_rate(OfferEntry::dmabuf(*fourcc, ms.iter().copied(), w, h)))
            .collect();
        let mut fallbacks: Vec<VideoFormat> = Vec::new();
        if self.fallback {
            for (fourcc, _) in &self.dmabuf {
                if let Some(v) = VideoFormat::from_drm_fourcc(*fourcc) {
                    if !fallbacks.contains(&v) {
                        fallbacks.push(v);
                    }
                }
            }
        }
        let mut shm = fallbacks.clone();
        // An explicit entry that is already a fallback is the same entry; explicit
        // duplicates are left for Offer::new to report.
        shm.extend(self.shm.into_iter().filter(|v| !fallbacks.contains(v)));
        entries.extend(
            shm.into_iter()
                .map(|v| with_rate(OfferEntry::shared_memory(v, w, h))),
        );
        Offer::new(entries)
    }
}
