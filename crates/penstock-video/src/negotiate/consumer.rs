//! The consumer's side after the offer: checking the producer's announcement (step 5 of
//! the [procedure](super)) and rejecting a modifier that failed to import.

use penstock::drm::DrmFormat;

use super::producer::check_plane_count;
use super::{
    Announcement, Attempt, AttemptResult, Choice, EntryFormat, Explanation, NegotiationError,
    Offer, OfferEntry, Outcome, Rejection,
};

impl Offer {
    /// Removes a modifier the consumer cannot use after all (importing buffers of it
    /// failed), so that the next negotiation picks something else. Entries left without
    /// modifiers are removed; the shared-memory entries stay.
    ///
    /// # Errors
    /// [`NegotiationError::RejectNotOffered`] when no DMA-BUF entry lists `format` (the
    /// offer is unchanged); [`NegotiationError::OfferExhausted`] when nothing would be
    /// left to offer (the offer is unchanged).
    pub fn reject_modifier(
        &mut self,
        format: DrmFormat,
        reason: impl Into<String>,
    ) -> Result<(), NegotiationError> {
        let reason = reason.into();
        let lists = |e: &OfferEntry| {
            matches!(&e.format, EntryFormat::DmaBuf { fourcc, modifiers }
                if *fourcc == format.fourcc && modifiers.contains(&format.modifier))
        };
        if !self.entries.iter().any(lists) {
            return Err(NegotiationError::RejectNotOffered {
                format,
                offered: self.summary(),
            });
        }
        let mut entries = self.entries.clone();
        for e in &mut entries {
            if let EntryFormat::DmaBuf { fourcc, modifiers } = &mut e.format {
                if *fourcc == format.fourcc {
                    modifiers.retain(|&m| m != format.modifier);
                }
            }
        }
        entries.retain(
            |e| !matches!(&e.format, EntryFormat::DmaBuf { modifiers, .. } if modifiers.is_empty()),
        );
        if entries.is_empty() {
            return Err(NegotiationError::OfferExhausted { format, reason });
        }
        self.entries = entries;
        self.rejected.push(Rejection { format, reason });
        Ok(())
    }

    /// Checks the producer's announcement against the offer (the consumer's side of
    /// step 5 in the [module docs](super)).
    ///
    /// # Errors
    /// [`NegotiationError::PreviouslyRejected`] for a modifier the consumer rejected;
    /// [`NegotiationError::NotOffered`] for any other format, modifier, size or rate
    /// that was not offered (an entry without a framerate accepts any rate);
    /// [`NegotiationError::InvalidPlaneCount`] for a DMA-BUF announcement with 0 or more
    /// than 4 planes, or a LINEAR one whose plane count is not its format's.
    pub fn accept(&self, announcement: &Announcement) -> Result<Outcome, NegotiationError> {
        let a = announcement;
        // An entry without a framerate accepts any.
        let size = |e: &OfferEntry| {
            (e.width, e.height) == (a.width, a.height)
                && e.framerate.is_none_or(|r| a.framerate == Some(r))
        };
        let found = self.entries.iter().position(|e| {
            size(e)
                && match (&e.format, &a.choice) {
                    (EntryFormat::DmaBuf { fourcc, modifiers }, Choice::DmaBuf { format, .. }) => {
                        *fourcc == format.fourcc && modifiers.contains(&format.modifier)
                    }
                    (EntryFormat::SharedMemory { format }, Choice::SharedMemory { format: g }) => {
                        format == g
                    }
                    _ => false,
                }
        });
        let Some(index) = found else {
            if let Choice::DmaBuf { format, .. } = &a.choice {
                if let Some(r) = self.rejected.iter().find(|r| r.format == *format) {
                    return Err(NegotiationError::PreviouslyRejected {
                        announced: a.to_string(),
                        format: *format,
                        reason: r.reason.clone(),
                    });
                }
            }
            return Err(NegotiationError::NotOffered {
                announced: a.to_string(),
                offered: self.summary(),
            });
        };
        if let Choice::DmaBuf { format, n_planes } = a.choice {
            check_plane_count(format, n_planes).map_err(|expected| {
                NegotiationError::InvalidPlaneCount {
                    announced: a.to_string(),
                    format,
                    n_planes,
                    expected,
                }
            })?;
        }
        Ok(Outcome {
            announcement: a.clone(),
            explanation: Explanation {
                rejected: self.rejected.clone(),
                attempts: vec![Attempt {
                    index,
                    entry: self.entries[index].to_string(),
                    result: AttemptResult::Accepted,
                }],
            },
        })
    }
}
