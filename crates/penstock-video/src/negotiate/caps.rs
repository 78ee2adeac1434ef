//! Offers and announcements as caps: DMA_DRM structures for DMA-BUF entries,
//! plain `video/x-raw` ones for shared memory.

use penstock::caps::{CAPS_FEATURE_MEMORY_DMABUF, Caps, CapsFeatures, Fraction, Structure, Value};
use penstock::drm::{DrmFormat, DrmFourcc};

use super::{
    Announcement, Choice, EntryFormat, NegotiationError, Offer, OfferEntry, default_plane_count,
};
use crate::VideoFormat;
use crate::dma_drm::{DMA_DRM_FORMAT, DRM_FORMAT_FIELD, VideoInfoDmaDrm, drm_formats_of};

impl OfferEntry {
    /// The caps structure of the entry (see [`Offer::to_caps`]).
    fn to_structure(&self) -> (Structure, CapsFeatures) {
        let mut s = Structure::new("video/x-raw");
        let features = match &self.format {
            EntryFormat::DmaBuf { fourcc, modifiers } => {
                s.set("format", DMA_DRM_FORMAT);
                let mut drm: Vec<String> = modifiers
                    .iter()
                    .map(|&m| DrmFormat::new(*fourcc, m).to_string())
                    .collect();
                let drm = if drm.len() == 1 {
                    Value::String(drm.remove(0))
                } else {
                    Value::list(drm)
                };
                s.set(DRM_FORMAT_FIELD, drm);
                CapsFeatures::new([CAPS_FEATURE_MEMORY_DMABUF])
            }
            EntryFormat::SharedMemory { format } => {
                s.set("format", format.name());
                CapsFeatures::default()
            }
        };
        set_size(&mut s, self.width, self.height, self.framerate);
        (s, features)
    }
}

fn set_size(s: &mut Structure, width: u32, height: u32, framerate: Option<Fraction>) {
    s.set("width", i32::try_from(width).unwrap_or(i32::MAX));
    s.set("height", i32::try_from(height).unwrap_or(i32::MAX));
    if let Some(f) = framerate {
        s.set("framerate", f);
    }
}

impl Offer {
    /// The offer as caps, preferred first: a DMA-BUF entry becomes
    /// `video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format={ NV12:0x…, NV12 },
    /// width=…, height=…[, framerate=…]` (its modifiers in order), a shared-memory entry
    /// `video/x-raw, format=NV12, width=…, height=…[, framerate=…]`.
    ///
    /// GStreamer cannot write the implicit modifier in `drm-format`; penstock writes it
    /// as `NV12:0x00ffffffffffffff` so that it reads back.
    pub fn to_caps(&self) -> Caps {
        let mut caps = Caps::new_empty();
        for e in &self.entries {
            let (s, f) = e.to_structure();
            caps.append_structure_full(s, f);
        }
        caps
    }

    /// Reads an offer from caps as [`Offer::to_caps`] writes them. Each structure must
    /// be `video/x-raw` with fixed `width` and `height` and an optional fixed
    /// `framerate`; a DMA_DRM structure (feature `memory:DMABuf`) gives one DMA-BUF
    /// entry per fourcc of its `drm-format` string or list (modifiers in list order), a
    /// system-memory structure one shared-memory entry per name of its `format` string
    /// or list.
    ///
    /// # Errors
    /// [`NegotiationError::UnsupportedCaps`] for ANY caps and structures of another kind,
    /// [`NegotiationError::DmaDrm`] for a bad `drm-format`, and the errors of
    /// [`Offer::new`].
    pub fn from_caps(caps: &Caps) -> Result<Offer, NegotiationError> {
        if caps.is_any() {
            return Err(NegotiationError::UnsupportedCaps {
                caps: caps.to_string(),
                reason: "ANY caps offer no particular format; list the formats".into(),
            });
        }
        let mut entries = Vec::new();
        for (s, f) in caps {
            let unsupported = |reason: &str| NegotiationError::UnsupportedCaps {
                caps: s.to_string(),
                reason: reason.to_owned(),
            };
            if s.name() != "video/x-raw" {
                return Err(unsupported("only video/x-raw structures can be negotiated"));
            }
            let (width, height, framerate) = fixed_size(s).map_err(unsupported)?;
            if s.get_str("format") == Some(DMA_DRM_FORMAT) {
                if !f.contains(CAPS_FEATURE_MEMORY_DMABUF) {
                    return Err(unsupported(
                        "format=DMA_DRM needs the memory:DMABuf feature",
                    ));
                }
                let text = || s.to_string();
                let mut by_fourcc: Vec<(DrmFourcc, Vec<u64>)> = Vec::new();
                for d in drm_formats_of(s, &text)? {
                    match by_fourcc.iter_mut().find(|(c, _)| *c == d.fourcc) {
                        Some((_, ms)) => ms.push(d.modifier),
                        None => by_fourcc.push((d.fourcc, vec![d.modifier])),
                    }
                }
                for (fourcc, modifiers) in by_fourcc {
                    entries.push(OfferEntry {
                        format: EntryFormat::DmaBuf { fourcc, modifiers },
                        width,
                        height,
                        framerate,
                    });
                }
            } else if f.is_system_memory() {
                let names: Vec<&str> = match s.value("format") {
                    Some(Value::String(n)) => vec![n.as_str()],
                    Some(Value::List(items)) => items
                        .iter()
                        .map(Value::as_str)
                        .collect::<Option<_>>()
                        .ok_or_else(|| unsupported("format must be a string or list of strings"))?,
                    _ => {
                        return Err(unsupported(
                            "shared-memory structures need format=NAME or a list of names",
                        ));
                    }
                };
                for name in names {
                    let format = VideoFormat::from_name(name).ok_or_else(|| {
                        unsupported(&format!(
                            "unknown video format {name:?}; use one of {}",
                            VideoFormat::valid_names()
                        ))
                    })?;
                    entries.push(OfferEntry {
                        format: EntryFormat::SharedMemory { format },
                        width,
                        height,
                        framerate,
                    });
                }
            } else {
                return Err(unsupported(
                    "only memory:DMABuf with format=DMA_DRM and system memory can be negotiated",
                ));
            }
        }
        Offer::new(entries)
    }
}

/// The fixed width, height and optional framerate of a structure.
fn fixed_size(s: &Structure) -> Result<(u32, u32, Option<Fraction>), &'static str> {
    let dim = |field| {
        s.get_int(field)
            .and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v > 0)
    };
    let width = dim("width").ok_or("width must be a fixed int of at least 1; fixate it first")?;
    let height =
        dim("height").ok_or("height must be a fixed int of at least 1; fixate it first")?;
    let framerate = match s.value("framerate") {
        None => None,
        Some(v) => Some(
            v.as_fraction()
                .ok_or("framerate must be a fixed fraction; fixate it first")?,
        ),
    };
    Ok((width, height, framerate))
}

impl Announcement {
    /// Fixed caps: `video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=…, width=…,
    /// height=…[, framerate=…]` or `video/x-raw, format=…, width=…, height=…[,
    /// framerate=…]`. (The plane count is not in caps: it travels with the buffers.)
    pub fn to_caps(&self) -> Caps {
        let mut s = Structure::new("video/x-raw");
        let features = match self.choice {
            Choice::DmaBuf { format, .. } => {
                s.set("format", DMA_DRM_FORMAT);
                s.set(DRM_FORMAT_FIELD, format.to_string());
                CapsFeatures::new([CAPS_FEATURE_MEMORY_DMABUF])
            }
            Choice::SharedMemory { format } => {
                s.set("format", format.name());
                CapsFeatures::default()
            }
        };
        set_size(&mut s, self.width, self.height, self.framerate);
        Caps::from_structure_full(s, features)
    }

    /// Reads fixed caps as [`Announcement::to_caps`] writes them (a consumer receiving
    /// the producer's choice in a caps event). A DMA-BUF announcement gets
    /// [`default_plane_count`] planes; set [`Choice::DmaBuf`]'s `n_planes` when the
    /// buffers say otherwise.
    ///
    /// # Errors
    /// [`NegotiationError::DmaDrm`] for invalid DMA_DRM caps;
    /// [`NegotiationError::UnsupportedCaps`] for caps that are not fixed raw video in
    /// DMA_DRM or system memory, or a fourcc without a known plane count.
    pub fn from_caps(caps: &Caps) -> Result<Announcement, NegotiationError> {
        let unsupported = |reason: &str| NegotiationError::UnsupportedCaps {
            caps: caps.to_string(),
            reason: reason.to_owned(),
        };
        if !caps.is_fixed() {
            return Err(unsupported(
                "an announcement must be fixed caps; fixate them first",
            ));
        }
        let (s, features) = caps
            .iter()
            .next()
            .ok_or_else(|| unsupported("an announcement needs one structure"))?;
        if s.name() != "video/x-raw" {
            return Err(unsupported("only video/x-raw can be negotiated"));
        }
        let (width, height, framerate) = fixed_size(s).map_err(unsupported)?;
        let choice = if s.get_str("format") == Some(DMA_DRM_FORMAT) {
            let format = VideoInfoDmaDrm::from_caps(caps)?.drm_format();
            let n_planes = default_plane_count(format).ok_or_else(|| {
                unsupported(&format!(
                    "the plane count of {format} is unknown; build the Announcement with the \
                     buffers' plane count"
                ))
            })?;
            Choice::DmaBuf { format, n_planes }
        } else if features.is_system_memory() {
            let name = s
                .get_str("format")
                .ok_or_else(|| unsupported("format must be a video format name"))?;
            let format = VideoFormat::from_name(name).ok_or_else(|| {
                unsupported(&format!(
                    "unknown video format {name:?}; use one of {}",
                    VideoFormat::valid_names()
                ))
            })?;
            Choice::SharedMemory { format }
        } else {
            return Err(unsupported(
                "only memory:DMABuf with format=DMA_DRM and system memory can be negotiated",
            ));
        };
        Ok(Announcement {
            choice,
            width,
            height,
            framerate,
        })
    }
}
