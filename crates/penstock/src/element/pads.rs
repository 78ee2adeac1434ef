//! An element's pads: lookup, request pads, and the pad a link takes.

use super::*;

impl Element {
    /// All pads.
    pub fn pads(&self) -> Vec<Pad> {
        self.0.pads.read_ignore_poison().clone()
    }

    /// Source pads.
    pub fn src_pads(&self) -> Vec<Pad> {
        self.pads()
            .into_iter()
            .filter(|p| p.direction() == PadDirection::Src)
            .collect()
    }

    /// Sink pads.
    pub fn sink_pads(&self) -> Vec<Pad> {
        self.pads()
            .into_iter()
            .filter(|p| p.direction() == PadDirection::Sink)
            .collect()
    }

    /// The pad named `name`.
    pub fn pad(&self, name: &str) -> Option<Pad> {
        self.0
            .pads
            .read_ignore_poison()
            .iter()
            .find(|p| p.name() == name)
            .cloned()
    }

    /// The first source pad.
    pub fn src_pad(&self) -> Option<Pad> {
        self.0
            .pads
            .read_ignore_poison()
            .iter()
            .find(|p| p.direction() == PadDirection::Src)
            .cloned()
    }

    /// The first sink pad.
    pub fn sink_pad(&self) -> Option<Pad> {
        self.0
            .pads
            .read_ignore_poison()
            .iter()
            .find(|p| p.direction() == PadDirection::Sink)
            .cloned()
    }

    /// Makes a pad from request template `template` (`src_%u` → `src_0`, `src_1`...).
    ///
    /// # Errors
    /// [`ElementError`] if there is no such request template.
    pub fn request_pad(&self, template: &str) -> Result<Pad, ElementError> {
        self.make_request_pad(template, None)
    }

    /// Makes a pad from request template `template`, named `name` (`src_5`, the
    /// template's prefix and a number) or by the counter.
    fn make_request_pad(&self, template: &str, name: Option<&str>) -> Result<Pad, ElementError> {
        let t = self
            .0
            .factory
            .pad_templates
            .iter()
            .find(|t| t.name == template && t.presence == PadPresence::Request)
            .ok_or_else(|| {
                ElementError::new(format!(
                    "{} has no request pad template '{template}'",
                    self.path()
                ))
            })?;
        let pad_name = {
            let mut c = self.0.request_counter.lock_ignore_poison();
            match name {
                Some(name) => {
                    // Later unnamed requests must not take this name.
                    if let Some(n) = request_index(t.name, name) {
                        *c = (*c).max(n.saturating_add(1));
                    }
                    name.to_owned()
                }
                None => {
                    let n = *c;
                    *c += 1;
                    t.name.replace("%u", &n.to_string())
                }
            }
        };
        let pad = Pad::new(pad_name, t.clone());
        pad.set_parent(Arc::downgrade(&self.0));
        if *self.0.state.lock_ignore_poison() >= State::Paused {
            pad.reset_for_streaming();
        }
        self.0.pads.write_ignore_poison().push(pad.clone());
        self.0.imp.pad_added(self, &pad);
        Ok(pad)
    }

    /// A free source pad for linking: an unlinked always-pad, or a new request pad.
    pub(crate) fn linkable_pad(&self, direction: PadDirection, name: Option<&str>) -> Option<Pad> {
        if let Some(n) = name {
            if let Some(p) = self.pad(n) {
                return (p.direction() == direction).then_some(p);
            }
            // A request pad asked for by name (`src_1`) gets that name, as in GStreamer.
            let t = self.0.factory.pad_templates.iter().find(|t| {
                t.direction == direction
                    && t.presence == PadPresence::Request
                    && request_index(t.name, n).is_some()
            })?;
            return self.make_request_pad(t.name, Some(n)).ok();
        }
        let free = self
            .pads()
            .into_iter()
            .find(|p| p.direction() == direction && !p.is_linked());
        if free.is_some() {
            return free;
        }
        let t = self
            .0
            .factory
            .pad_templates
            .iter()
            .find(|t| t.direction == direction && t.presence == PadPresence::Request)?;
        self.request_pad(t.name).ok()
    }
}

/// The number in `name` if it is a name of request template `template` (`src_%u` and
/// `src_12` give 12).
pub(super) fn request_index(template: &str, name: &str) -> Option<u32> {
    let prefix = template.strip_suffix("%u")?;
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
