//! rawvideoparse's settings: the properties' values, their parsing, and the frame
//! layout they give.

use super::*;

/// Parses `N/D` (or `N`) into a fraction with a positive denominator.
pub(super) fn parse_fraction(text: &str) -> Option<(i32, i32)> {
    let t = text.trim();
    let (n, d) = match t.split_once('/') {
        Some((n, d)) => (n.trim().parse().ok()?, d.trim().parse().ok()?),
        None => (t.parse().ok()?, 1),
    };
    (d > 0).then_some((n, d))
}

/// Parses GStreamer's value-array syntax `<320,160,160>` (also `< (int)320, ... >` and a
/// bare `320,160,160`); empty means "not set".
pub(super) fn parse_plane_list(text: &str) -> Option<Vec<usize>> {
    let t = text.trim();
    let t = t.strip_prefix('<').unwrap_or(t);
    let t = t.strip_suffix('>').unwrap_or(t).trim();
    if t.is_empty() {
        return Some(Vec::new());
    }
    t.split(',')
        .map(|v| {
            let v = v.trim();
            let v = v.strip_prefix("(int)").unwrap_or(v).trim();
            v.parse::<usize>().ok()
        })
        .collect()
}

pub(super) fn format_plane_list(values: &[usize]) -> String {
    let inner: Vec<String> = values.iter().map(usize::to_string).collect();
    format!("<{}>", inner.join(","))
}

#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) format: i32,
    pub(super) width: i64,
    pub(super) height: i64,
    pub(super) framerate: (i32, i32),
    pub(super) par: (i32, i32),
    pub(super) frame_size: u64,
    pub(super) plane_strides: Vec<usize>,
    pub(super) plane_offsets: Vec<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            format: DEFAULT_FORMAT,
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
            framerate: (25, 1),
            par: (1, 1),
            frame_size: 0,
            plane_strides: Vec::new(),
            plane_offsets: Vec::new(),
        }
    }
}

/// What the settings mean for the stream; fixed from READY→PAUSED to PAUSED→READY.
#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) info: VideoInfo,
    /// Bytes of each output frame (the layout's size).
    pub(super) out_size: usize,
    /// Bytes each frame takes in the input (`max(frame-size, out_size)`).
    pub(super) advance: usize,
    pub(super) caps: Caps,
    /// Frame duration in ns, `None` for a framerate of 0.
    pub(super) duration: Option<u64>,
}

impl Settings {
    /// The plane strides and offsets in effect, as GStreamer reports them: those of the
    /// configured layout, or the ones given when they make no valid layout.
    pub(super) fn layout(&self) -> (Vec<usize>, Vec<usize>) {
        let n = format_from_number(self.format).map_or(0, VideoFormat::n_planes);
        self.config()
            .map(|c| {
                (
                    c.info.strides()[..n].to_vec(),
                    c.info.offsets()[..n].to_vec(),
                )
            })
            .unwrap_or_else(|_| (self.plane_strides.clone(), self.plane_offsets.clone()))
    }

    pub(super) fn config(&self) -> Result<Config, String> {
        let format = format_from_number(self.format)
            .ok_or_else(|| format!("unsupported format number {}", self.format))?;
        // The property ranges keep both within 0..=i32::MAX.
        let width = u32::try_from(self.width).unwrap_or(0);
        let height = u32::try_from(self.height).unwrap_or(0);
        let mut info = VideoInfo::new(format, width, height).map_err(|e| e.to_string())?;
        if !self.plane_strides.is_empty() || !self.plane_offsets.is_empty() {
            let n = format.n_planes();
            let pick = |given: &[usize], default: [usize; 4], what: &str| {
                if given.is_empty() {
                    Ok(default[..n].to_vec())
                } else if given.len() == n {
                    Ok(given.to_vec())
                } else {
                    Err(format!(
                        "{what} has {} value(s) but {} has {n} plane(s): give one per plane \
                         (e.g. {what}=\"{}\")",
                        given.len(),
                        format.name(),
                        format_plane_list(&default[..n])
                    ))
                }
            };
            let strides = pick(&self.plane_strides, info.strides(), "plane-strides")?;
            let offsets = pick(&self.plane_offsets, info.offsets(), "plane-offsets")?;
            // GStreamer's frame size for an explicit layout: the plane that starts last,
            // plus its stride times its rows.
            let last = (0..n).fold(
                0,
                |last, p| {
                    if offsets[p] >= offsets[last] { p } else { last }
                },
            );
            let rows = info.plane_height(last) as usize;
            let size = strides[last]
                .checked_mul(rows)
                .and_then(|s| s.checked_add(offsets[last]))
                .ok_or_else(|| "plane-strides/plane-offsets overflow the frame size".to_owned())?;
            info = VideoInfo::with_layout(format, width, height, &offsets, &strides, size)
                .map_err(|e| e.to_string())?;
        }
        let out_size = info.size();
        let advance = usize::try_from(self.frame_size)
            .unwrap_or(usize::MAX)
            .max(out_size);
        let (fps_n, fps_d) = self.framerate;
        let caps = Caps::builder("video/x-raw")
            .field("format", format.name())
            .field("width", width as i32)
            .field("height", height as i32)
            .field("interlace-mode", "progressive")
            .field("pixel-aspect-ratio", Fraction::new(self.par.0, self.par.1))
            .field("framerate", Fraction::new(fps_n, fps_d))
            .build();
        let duration = if fps_n > 0 {
            ClockTime::scale(ClockTime::SECOND.nseconds(), fps_d as u64, fps_n as u64)
        } else {
            None
        };
        Ok(Config {
            info,
            out_size,
            advance,
            caps,
            duration,
        })
    }
}

/// A fraction property's value, `N/D` (or `N`) with `D > 0`, that `check` accepts.
pub(super) fn fraction_value(
    text: &str,
    expected: &str,
    check: fn(i64, i64) -> Result<(), &'static str>,
) -> Result<(i32, i32), Refused> {
    let (n, d) =
        parse_fraction(text).ok_or_else(|| Refused::new(expected, "not a fraction with D > 0"))?;
    check(i64::from(n), i64::from(d)).map_err(|why| Refused::new(expected, why))?;
    Ok((n, d))
}

/// A plane list property's value (`<320,160,160>`).
pub(super) fn plane_list_value(text: &str) -> Result<Vec<usize>, Refused> {
    parse_plane_list(text).ok_or_else(|| {
        Refused::new(
            "a list of byte counts like <320,160,160>",
            "not a list of non-negative integers",
        )
    })
}
