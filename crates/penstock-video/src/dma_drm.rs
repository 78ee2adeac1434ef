//! DMA_DRM caps: raw video in DMA-BUFs, described by a DRM fourcc and modifier.
//!
//! Since GStreamer 1.24, raw video in DMA-BUF memory is negotiated with the
//! `memory:DMABuf` caps feature, the special format name `DMA_DRM`, and a `drm-format`
//! string field holding the fourcc and modifier ([`DrmFormat`]'s syntax):
//!
//! ```text
//! video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12:0x0100000000000001, width=1280, height=720
//! ```
//!
//! Unfixed caps may list several: `drm-format={ NV12:0x0100000000000001, NV12 }`. These
//! are plain string fields, so caps intersection and fixation work on them like on any
//! string list (fixation picks the first). Strings compare as text: write modifiers with
//! 16 hex digits and leave LINEAR's out, as [`DrmFormat`]'s `Display` does, so that
//! equal formats intersect.
//!
//! [`VideoInfoDmaDrm`] is the fixed form: a [`DrmFormat`] and a size, plus the CPU
//! layout when there is one. A LINEAR buffer of a fourcc penstock knows is laid out
//! exactly like the equivalent plain format (`NV12` ↔ [`VideoFormat::Nv12`], see
//! [`VideoFormat::from_drm_fourcc`]) in GStreamer's default layout; any other modifier
//! (tiled, compressed, or the implicit [`DRM_FORMAT_MOD_INVALID`](penstock::drm::DRM_FORMAT_MOD_INVALID))
//! has no layout the CPU can read.
//!
//! [`dma_drm_caps_to_raw`] and [`raw_caps_to_dma_drm`] convert between DMA_DRM caps and
//! plain `video/x-raw, format=NV12` caps for linear formats.
//!
//! ```
//! use penstock::caps::Caps;
//! use penstock_video::{VideoFormat, dma_drm::VideoInfoDmaDrm};
//!
//! let caps: Caps = "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, \
//!                   width=1280, height=720".parse()?;
//! let info = VideoInfoDmaDrm::from_caps(&caps)?;
//! let layout = info.cpu_layout()?; // LINEAR: GStreamer's default NV12 layout
//! assert_eq!(layout.format(), VideoFormat::Nv12);
//! assert_eq!(layout.offsets()[1], 1280 * 720);
//! assert_eq!(info.to_caps(), caps);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use penstock::caps::{CAPS_FEATURE_MEMORY_DMABUF, Caps, CapsFeatures, Structure, Value};

use super::{VideoError, VideoFormat, VideoInfo};
use penstock::drm::{DrmFormat, DrmFormatError, fourcc_chars};

/// The `format` value of DMA_DRM caps.
pub const DMA_DRM_FORMAT: &str = "DMA_DRM";
/// The field holding the DRM format (`FOURCC[:0xMODIFIER]`) in DMA_DRM caps.
pub use penstock::drm::DRM_FORMAT_FIELD;

/// Why caps are not (valid) DMA_DRM caps, or have no CPU layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DmaDrmError {
    /// The caps are not `video/x-raw`.
    #[error("caps {caps} are not video/x-raw; DMA_DRM caps look like {EXAMPLE}")]
    NotRawVideo {
        /// The caps given.
        caps: String,
    },
    /// The caps are ANY, EMPTY, hold several structures, or a field is a range or list.
    #[error("caps {caps} are not fixed; fixate them (one structure, no lists or ranges) first")]
    NotFixed {
        /// The caps given.
        caps: String,
    },
    /// `format` is not `DMA_DRM`.
    #[error(
        "caps {caps} have format={format}, not format=DMA_DRM; DMA_DRM caps look like {EXAMPLE}"
    )]
    NotDmaDrm {
        /// The caps given.
        caps: String,
        /// The `format` value found (`(none)` when missing).
        format: String,
    },
    /// `format=DMA_DRM` without the `memory:DMABuf` feature.
    #[error(
        "caps {caps} say format=DMA_DRM but have features ({features}); DMA_DRM needs \
         video/x-raw(memory:DMABuf)"
    )]
    MissingDmaBufFeature {
        /// The caps given.
        caps: String,
        /// The features found.
        features: String,
    },
    /// No `drm-format` string.
    #[error("caps {caps} have no drm-format string field; add one such as drm-format=NV12")]
    MissingDrmFormat {
        /// The caps given.
        caps: String,
    },
    /// A `drm-format` that does not parse.
    #[error("caps {caps}: {source}")]
    InvalidDrmFormat {
        /// The caps given.
        caps: String,
        /// Why the string does not parse.
        source: DrmFormatError,
    },
    /// A missing or non-integer `width` / `height` (or one outside 1..=i32::MAX).
    #[error("caps {caps}: field '{field}' must be a fixed int from 1 to 2147483647")]
    InvalidField {
        /// The caps given.
        caps: String,
        /// The field (`width` or `height`).
        field: &'static str,
    },
    /// A CPU layout was asked for a modifier that is not LINEAR.
    #[error(
        "{format} is not LINEAR: its buffers have no layout the CPU can read row by row; \
         negotiate the LINEAR modifier ({fourcc}) to map them, or import them with a \
         graphics API"
    )]
    NonLinear {
        /// The DRM format.
        format: DrmFormat,
        /// The fourcc alone (the LINEAR format to ask for instead).
        fourcc: String,
    },
    /// A fourcc without an equivalent penstock [`VideoFormat`].
    #[error(
        "DRM fourcc {fourcc} has no equivalent penstock video format, so penstock cannot lay \
         it out; use one of {}",
        VideoFormat::valid_names()
    )]
    NoVideoFormat {
        /// The fourcc.
        fourcc: String,
    },
    /// A plain format without a DRM fourcc (cannot be put in DMA_DRM caps).
    #[error("video format {format} has no DRM fourcc")]
    NoDrmFourcc {
        /// The format.
        format: VideoFormat,
    },
    /// A plain caps structure whose `format` is not a known format name or list of them.
    #[error(
        "caps {caps}: format must be a video format name or list of them (one of {}), for \
         conversion to DMA_DRM",
        VideoFormat::valid_names()
    )]
    BadFormatField {
        /// The caps given.
        caps: String,
    },
    /// A width or height of 0 or above `i32::MAX`.
    #[error(
        "invalid size {width}x{height} for {format}: width and height must be from 1 to 2147483647"
    )]
    InvalidSize {
        /// The DRM format.
        format: DrmFormat,
        /// The width given.
        width: u32,
        /// The height given.
        height: u32,
    },
    /// A LINEAR frame that cannot be laid out (too large).
    #[error(transparent)]
    Video(#[from] Box<VideoError>),
}

/// Largest width or height (GStreamer stores them as `gint`).
const MAX_DIMENSION: u32 = i32::MAX as u32;

const EXAMPLE: &str =
    "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, width=1280, height=720";

/// A fixed DMA_DRM video format: the DRM format of the buffers and the frame size, plus
/// the CPU layout when the buffers have one (LINEAR and a fourcc penstock knows).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VideoInfoDmaDrm {
    drm: DrmFormat,
    width: u32,
    height: u32,
    layout: Option<VideoInfo>,
}

impl VideoInfoDmaDrm {
    /// Frames of `drm` format, `width` x `height` pixels.
    ///
    /// # Errors
    /// [`DmaDrmError::InvalidSize`] for a width or height of 0 or above `i32::MAX`;
    /// [`DmaDrmError::Video`] for a LINEAR frame too large to lay out.
    pub fn new(drm: DrmFormat, width: u32, height: u32) -> Result<VideoInfoDmaDrm, DmaDrmError> {
        if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(DmaDrmError::InvalidSize {
                format: drm,
                width,
                height,
            });
        }
        let layout = match VideoFormat::from_drm_format(&drm) {
            Some(format) if drm.is_linear() => {
                Some(VideoInfo::new(format, width, height).map_err(Box::new)?)
            }
            _ => None,
        };
        Ok(VideoInfoDmaDrm {
            drm,
            width,
            height,
            layout,
        })
    }

    /// The LINEAR DMA_DRM equivalent of a plain frame layout (`NV12` ↔ `drm-format=NV12`).
    /// The layout is kept as it is (it may be padded).
    ///
    /// # Errors
    /// [`DmaDrmError::NoDrmFourcc`] for a format without a DRM fourcc.
    pub fn from_video_info(info: &VideoInfo) -> Result<VideoInfoDmaDrm, DmaDrmError> {
        let fourcc = info.format().drm_fourcc().ok_or(DmaDrmError::NoDrmFourcc {
            format: info.format(),
        })?;
        Ok(VideoInfoDmaDrm {
            drm: DrmFormat::linear(fourcc),
            width: info.width(),
            height: info.height(),
            layout: Some(info.clone()),
        })
    }

    /// Reads fixed DMA_DRM caps: `video/x-raw(memory:DMABuf), format=DMA_DRM,
    /// drm-format=FOURCC[:0xMODIFIER], width=W, height=H` (other fields are ignored).
    ///
    /// # Errors
    /// [`DmaDrmError::NotFixed`], [`DmaDrmError::NotRawVideo`],
    /// [`DmaDrmError::NotDmaDrm`], [`DmaDrmError::MissingDmaBufFeature`],
    /// [`DmaDrmError::MissingDrmFormat`], [`DmaDrmError::InvalidDrmFormat`],
    /// [`DmaDrmError::InvalidField`], each naming the caps; [`DmaDrmError::Video`] for a
    /// LINEAR frame too large to lay out.
    pub fn from_caps(caps: &Caps) -> Result<VideoInfoDmaDrm, DmaDrmError> {
        let text = || caps.to_string();
        if !caps.is_fixed() {
            return Err(DmaDrmError::NotFixed { caps: text() });
        }
        let (s, features) = caps
            .iter()
            .next()
            .ok_or_else(|| DmaDrmError::NotFixed { caps: text() })?;
        Self::from_structure(s, features, &text)
    }

    fn from_structure(
        s: &Structure,
        features: &CapsFeatures,
        text: &dyn Fn() -> String,
    ) -> Result<VideoInfoDmaDrm, DmaDrmError> {
        if s.name() != "video/x-raw" {
            return Err(DmaDrmError::NotRawVideo { caps: text() });
        }
        match s.get_str("format") {
            Some(DMA_DRM_FORMAT) => {}
            other => {
                return Err(DmaDrmError::NotDmaDrm {
                    caps: text(),
                    format: other.unwrap_or("(none)").to_owned(),
                });
            }
        }
        if !features.contains(CAPS_FEATURE_MEMORY_DMABUF) {
            return Err(DmaDrmError::MissingDmaBufFeature {
                caps: text(),
                features: features.to_string(),
            });
        }
        let drm_text = s
            .get_str(DRM_FORMAT_FIELD)
            .ok_or_else(|| DmaDrmError::MissingDrmFormat { caps: text() })?;
        let drm: DrmFormat = drm_text
            .parse()
            .map_err(|source| DmaDrmError::InvalidDrmFormat {
                caps: text(),
                source,
            })?;
        let dim = |field: &'static str| {
            s.get_int(field)
                .and_then(|v| u32::try_from(v).ok())
                .filter(|&v| v > 0)
                .ok_or_else(|| DmaDrmError::InvalidField {
                    caps: text(),
                    field,
                })
        };
        let (width, height) = (dim("width")?, dim("height")?);
        VideoInfoDmaDrm::new(drm, width, height)
    }

    /// Fixed caps: `video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=…, width=…,
    /// height=…`.
    pub fn to_caps(&self) -> Caps {
        Caps::builder("video/x-raw")
            .features([CAPS_FEATURE_MEMORY_DMABUF])
            .field("format", DMA_DRM_FORMAT)
            .field(DRM_FORMAT_FIELD, self.drm.to_string())
            .field("width", dim_value(self.width))
            .field("height", dim_value(self.height))
            .build()
    }

    /// The DRM format (fourcc and modifier).
    pub fn drm_format(&self) -> DrmFormat {
        self.drm
    }

    /// Visible width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Visible height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The CPU layout, if the buffers have one (LINEAR, and a fourcc penstock knows).
    pub fn video_info(&self) -> Option<&VideoInfo> {
        self.layout.as_ref()
    }

    /// The CPU layout of the buffers.
    ///
    /// # Errors
    /// [`DmaDrmError::NonLinear`] when the modifier is not LINEAR;
    /// [`DmaDrmError::NoVideoFormat`] when penstock has no format for the fourcc.
    pub fn cpu_layout(&self) -> Result<&VideoInfo, DmaDrmError> {
        if !self.drm.is_linear() {
            return Err(DmaDrmError::NonLinear {
                format: self.drm,
                fourcc: fourcc_chars(self.drm.fourcc),
            });
        }
        self.layout
            .as_ref()
            .ok_or_else(|| DmaDrmError::NoVideoFormat {
                fourcc: fourcc_chars(self.drm.fourcc),
            })
    }
}

/// A width or height as a caps int (they are at most `i32::MAX` by construction).
fn dim_value(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Whether the caps structure is DMA_DRM (`format=DMA_DRM`, possibly in a list).
pub fn is_dma_drm(s: &Structure) -> bool {
    match s.value("format") {
        Some(Value::String(f)) => f == DMA_DRM_FORMAT,
        Some(Value::List(items)) => items.iter().any(|v| v.as_str() == Some(DMA_DRM_FORMAT)),
        _ => false,
    }
}

/// The strings of a string or list-of-strings field (`None` for anything else).
fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::List(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// One string, or a list of several.
fn string_value(mut items: Vec<String>) -> Value {
    if items.len() == 1 {
        Value::String(items.remove(0))
    } else {
        Value::list(items)
    }
}

/// Plain system-memory caps for the LINEAR formats of DMA_DRM caps (GStreamer's
/// `gst_video_dma_drm_fourcc_to_format` equivalence): `video/x-raw(memory:DMABuf),
/// format=DMA_DRM, drm-format={ NV12, NV12:0x0100000000000001 }` becomes `video/x-raw,
/// format=NV12`. Non-LINEAR drm-formats are dropped (the CPU cannot read them), as are
/// fourccs penstock has no format for; other fields are kept. Structures that are not
/// DMA_DRM are kept as they are. ANY stays ANY.
///
/// # Errors
/// [`DmaDrmError::MissingDrmFormat`] / [`DmaDrmError::InvalidDrmFormat`] for a DMA_DRM
/// structure without a valid drm-format string (or list of them), and
/// [`DmaDrmError::NonLinear`] when a DMA_DRM structure has no LINEAR format at all
/// (naming its first format).
pub fn dma_drm_caps_to_raw(caps: &Caps) -> Result<Caps, DmaDrmError> {
    if caps.is_any() {
        return Ok(Caps::new_any());
    }
    let mut out = Caps::new_empty();
    for (s, f) in caps {
        if !is_dma_drm(s) {
            out.append_structure_full(s.clone(), f.clone());
            continue;
        }
        let text = || s.to_string();
        let formats = drm_formats_of(s, &text)?;
        let plain: Vec<String> = formats
            .iter()
            .filter(|d| d.is_linear())
            .filter_map(VideoFormat::from_drm_format)
            .map(|v| v.name().to_owned())
            .collect();
        let Some(first) = formats.first() else {
            return Err(DmaDrmError::MissingDrmFormat { caps: text() });
        };
        if plain.is_empty() {
            return Err(if first.is_linear() {
                DmaDrmError::NoVideoFormat {
                    fourcc: fourcc_chars(first.fourcc),
                }
            } else {
                DmaDrmError::NonLinear {
                    format: *first,
                    fourcc: fourcc_chars(first.fourcc),
                }
            });
        }
        let mut plain_s = s.clone();
        plain_s.remove(DRM_FORMAT_FIELD);
        plain_s.set("format", string_value(plain));
        out.append_structure_full(plain_s, CapsFeatures::default());
    }
    Ok(out)
}

/// The DRM formats of a DMA_DRM structure's `drm-format` string or list.
pub(crate) fn drm_formats_of(
    s: &Structure,
    text: &dyn Fn() -> String,
) -> Result<Vec<DrmFormat>, DmaDrmError> {
    let items = s
        .value(DRM_FORMAT_FIELD)
        .and_then(strings)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| DmaDrmError::MissingDrmFormat { caps: text() })?;
    items
        .into_iter()
        .map(|d| {
            d.parse().map_err(|source| DmaDrmError::InvalidDrmFormat {
                caps: text(),
                source,
            })
        })
        .collect()
}

/// LINEAR DMA_DRM caps for plain `video/x-raw` caps: `video/x-raw, format={ NV12, I420 }`
/// becomes `video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format={ NV12, YU12 }`; other
/// fields are kept. Structures that are not `video/x-raw`, or already DMA_DRM, are kept
/// as they are. ANY stays ANY.
///
/// # Errors
/// [`DmaDrmError::BadFormatField`] when a `video/x-raw` structure has no `format`, or one
/// that is not a known format name or list of them.
pub fn raw_caps_to_dma_drm(caps: &Caps) -> Result<Caps, DmaDrmError> {
    if caps.is_any() {
        return Ok(Caps::new_any());
    }
    let mut out = Caps::new_empty();
    for (s, f) in caps {
        if s.name() != "video/x-raw" || is_dma_drm(s) {
            out.append_structure_full(s.clone(), f.clone());
            continue;
        }
        let bad = || DmaDrmError::BadFormatField {
            caps: s.to_string(),
        };
        let names = s.value("format").and_then(strings).ok_or_else(bad)?;
        let drm = names
            .into_iter()
            .map(|n| {
                let format = VideoFormat::from_name(n).ok_or_else(bad)?;
                let fourcc = format
                    .drm_fourcc()
                    .ok_or(DmaDrmError::NoDrmFourcc { format })?;
                Ok(DrmFormat::linear(fourcc).to_string())
            })
            .collect::<Result<Vec<_>, DmaDrmError>>()?;
        if drm.is_empty() {
            return Err(bad());
        }
        // drm-format right after format, where GStreamer writes it.
        let mut drm = Some(string_value(drm));
        let mut d = Structure::new(s.name());
        for (name, value) in s.fields() {
            if name == "format" {
                d.set("format", DMA_DRM_FORMAT);
                if let Some(v) = drm.take() {
                    d.set(DRM_FORMAT_FIELD, v);
                }
            } else if name != DRM_FORMAT_FIELD {
                d.set(name, value.clone());
            }
        }
        out.append_structure_full(d, CapsFeatures::new([CAPS_FEATURE_MEMORY_DMABUF]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::info_from_caps;
    use penstock::caps::Caps;
    use penstock::drm::{DRM_FORMAT_MOD_INVALID, DrmFourcc};
    use proptest::prelude::*;

    const TILED: u64 = 0x0100_0000_0000_0001;

    type ErrorCheck = fn(&DmaDrmError) -> bool;

    fn caps(s: &str) -> Caps {
        s.parse().unwrap()
    }

    #[test]
    fn linear_caps_give_the_default_layout_of_the_equivalent_format() {
        let c = caps(
            "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, width=1280, height=720",
        );
        let info = VideoInfoDmaDrm::from_caps(&c).unwrap();
        assert_eq!(info.drm_format(), DrmFormat::linear(DrmFourcc::Nv12));
        assert_eq!((info.width(), info.height()), (1280, 720));
        let expected = VideoInfo::new(VideoFormat::Nv12, 1280, 720).unwrap();
        assert_eq!(info.cpu_layout().unwrap(), &expected);
        assert_eq!(info.video_info(), Some(&expected));
        assert_eq!(info_from_caps(&c), Some(Ok(expected)));
        assert_eq!(info.to_caps(), c);
    }

    #[test]
    fn tiled_caps_have_no_cpu_layout() {
        let c = caps(
            "video/x-raw(memory:DMABuf), format=DMA_DRM, \
             drm-format=NV12:0x0100000000000001, width=64, height=64",
        );
        let info = VideoInfoDmaDrm::from_caps(&c).unwrap();
        assert_eq!(info.drm_format(), DrmFormat::new(DrmFourcc::Nv12, TILED));
        assert_eq!(info.video_info(), None);
        let err = info.cpu_layout().unwrap_err();
        assert!(matches!(err, DmaDrmError::NonLinear { .. }));
        // The message names the format and says what to negotiate instead.
        let msg = err.to_string();
        assert!(
            msg.contains("NV12:0x0100000000000001") && msg.contains("(NV12)"),
            "{msg}"
        );
        assert!(matches!(
            info_from_caps(&c),
            Some(Err(VideoError::DmaDrm(e))) if matches!(*e, DmaDrmError::NonLinear { .. })
        ));
        assert_eq!(info.to_caps(), c);
        // The implicit modifier has no CPU layout either.
        let implicit = VideoInfoDmaDrm::new(
            DrmFormat::new(DrmFourcc::Nv12, DRM_FORMAT_MOD_INVALID),
            64,
            64,
        )
        .unwrap();
        assert!(implicit.cpu_layout().is_err());
    }

    #[test]
    fn bad_dma_drm_caps_are_typed_errors() {
        let cases: [(&str, ErrorCheck); 9] = [
            (
                "video/x-raw(memory:DMABuf), format=DMA_DRM, width=64, height=64",
                |e| matches!(e, DmaDrmError::MissingDrmFormat { .. }),
            ),
            (
                "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV1, width=64, height=64",
                |e| matches!(e, DmaDrmError::InvalidDrmFormat { .. }),
            ),
            (
                "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=QQQQ, width=64, height=64",
                |e| matches!(e, DmaDrmError::InvalidDrmFormat { .. }),
            ),
            (
                "video/x-raw(memory:DMABuf), format=NV12, drm-format=NV12, width=64, height=64",
                |e| matches!(e, DmaDrmError::NotDmaDrm { .. }),
            ),
            (
                "video/x-raw, format=DMA_DRM, drm-format=NV12, width=64, height=64",
                |e| matches!(e, DmaDrmError::MissingDmaBufFeature { .. }),
            ),
            (
                "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, width=0, height=64",
                |e| matches!(e, DmaDrmError::InvalidField { field: "width", .. }),
            ),
            (
                "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, width=64",
                |e| {
                    matches!(
                        e,
                        DmaDrmError::InvalidField {
                            field: "height",
                            ..
                        }
                    )
                },
            ),
            (
                "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format={ NV12, YU12 }, \
                 width=64, height=64",
                |e| matches!(e, DmaDrmError::NotFixed { .. }),
            ),
            (
                "audio/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, width=64, height=64",
                |e| matches!(e, DmaDrmError::NotRawVideo { .. }),
            ),
        ];
        for (text, check) in cases {
            let err = VideoInfoDmaDrm::from_caps(&caps(text)).unwrap_err();
            assert!(check(&err), "{text}: {err:?}");
        }
        assert!(matches!(
            VideoInfoDmaDrm::from_caps(&Caps::new_any()),
            Err(DmaDrmError::NotFixed { .. })
        ));
        // Plain system-memory caps saying DMA_DRM are reported, not mistaken for a format.
        assert!(matches!(
            info_from_caps(&caps("video/x-raw, format=DMA_DRM, drm-format=NV12, width=8, height=8")),
            Some(Err(VideoError::DmaDrm(e))) if matches!(*e, DmaDrmError::MissingDmaBufFeature { .. })
        ));
        // Unfixed DMA_DRM caps describe no single layout.
        assert_eq!(
            info_from_caps(&caps(
                "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, width=[ 1, 64 ], height=8"
            )),
            None
        );
        // The pre-1.24 spelling is not read as DMA_DRM.
        assert_eq!(
            info_from_caps(&caps(
                "video/x-raw(memory:DMABuf), format=NV12, width=8, height=8"
            )),
            None
        );
    }

    #[test]
    fn sizes_are_checked() {
        let nv12 = DrmFormat::linear(DrmFourcc::Nv12);
        let tiled = DrmFormat::new(DrmFourcc::Nv12, TILED);
        for (w, h) in [(0, 1), (1, 0), (u32::MAX, 1), (1, 1 << 31)] {
            for f in [nv12, tiled] {
                assert!(matches!(
                    VideoInfoDmaDrm::new(f, w, h),
                    Err(DmaDrmError::InvalidSize { .. })
                ));
            }
        }
        // A tiled frame is not laid out, so a huge one is fine; a linear one overflows.
        assert!(VideoInfoDmaDrm::new(tiled, i32::MAX as u32, i32::MAX as u32).is_ok());
        assert!(matches!(
            VideoInfoDmaDrm::new(
                DrmFormat::linear(DrmFourcc::Abgr8888),
                i32::MAX as u32,
                i32::MAX as u32
            ),
            Err(DmaDrmError::Video(_))
        ));
    }

    #[test]
    fn plain_and_dma_drm_caps_convert_for_linear_formats() {
        let drm = caps(
            "video/x-raw(memory:DMABuf), format=DMA_DRM, \
             drm-format={ NV12:0x0100000000000001, NV12, YU12 }, width=640, height=480, \
             framerate=30/1",
        );
        let plain = dma_drm_caps_to_raw(&drm).unwrap();
        assert_eq!(
            plain,
            caps("video/x-raw, format={ NV12, I420 }, width=640, height=480, framerate=30/1")
        );
        let back = raw_caps_to_dma_drm(&plain).unwrap();
        assert_eq!(
            back.to_string(),
            "video/x-raw(memory:DMABuf), format=(string)DMA_DRM, \
             drm-format=(string){ NV12, YU12 }, width=(int)640, height=(int)480, \
             framerate=(fraction)30/1"
        );
        assert_eq!(
            back,
            caps(
                "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format={ NV12, YU12 }, \
                 width=640, height=480, framerate=30/1"
            )
        );
        // Every penstock format round-trips through its fourcc.
        for f in VideoFormat::ALL {
            let c = caps(&format!(
                "video/x-raw, format={}, width=2, height=2",
                f.name()
            ));
            let d = raw_caps_to_dma_drm(&c).unwrap();
            let info = VideoInfoDmaDrm::from_caps(&d).unwrap();
            assert_eq!(
                info.cpu_layout().unwrap(),
                &VideoInfo::new(f, 2, 2).unwrap()
            );
            assert_eq!(dma_drm_caps_to_raw(&d).unwrap(), c);
            assert_eq!(
                VideoInfoDmaDrm::from_video_info(info.cpu_layout().unwrap()).unwrap(),
                info
            );
        }
        // Only tiled: nothing the CPU can read.
        let tiled =
            caps("video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12:0x0100000000000001");
        assert!(matches!(
            dma_drm_caps_to_raw(&tiled),
            Err(DmaDrmError::NonLinear { .. })
        ));
        // Linear, but a fourcc penstock cannot lay out.
        let p010 = caps("video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=P010");
        assert!(matches!(
            dma_drm_caps_to_raw(&p010),
            Err(DmaDrmError::NoVideoFormat { .. })
        ));
        assert!(matches!(
            raw_caps_to_dma_drm(&caps("video/x-raw, format=FOO")),
            Err(DmaDrmError::BadFormatField { .. })
        ));
        assert!(matches!(
            raw_caps_to_dma_drm(&caps("video/x-raw, width=2")),
            Err(DmaDrmError::BadFormatField { .. })
        ));
        // Other structures pass through; ANY stays ANY.
        let other = caps("audio/x-raw, rate=48000");
        assert_eq!(dma_drm_caps_to_raw(&other).unwrap(), other);
        assert_eq!(raw_caps_to_dma_drm(&other).unwrap(), other);
        assert!(dma_drm_caps_to_raw(&Caps::new_any()).unwrap().is_any());
    }

    #[test]
    fn intersection_and_fixation_of_drm_format_lists() {
        let src = caps(
            "video/x-raw(memory:DMABuf), format=DMA_DRM, \
             drm-format={ NV12:0x0100000000000001, NV12, YU12 }, \
             width=[ 1, 4096 ], height=[ 1, 4096 ]",
        );
        let sink = caps(
            "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format={ YU12, NV12 }, \
             width=1280, height=720; video/x-raw, format=NV12, width=1280, height=720",
        );
        let common = src.intersect(&sink);
        assert_eq!(
            common,
            caps(
                "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format={ NV12, YU12 }, \
                 width=1280, height=720"
            )
        );
        // Fixation picks the first (the source's preference among the common ones).
        let fixed = common.fixate();
        assert!(fixed.is_fixed());
        let info = info_from_caps(&fixed).unwrap().unwrap();
        assert_eq!(info, VideoInfo::new(VideoFormat::Nv12, 1280, 720).unwrap());
        // A DMA_DRM structure never meets a system-memory one, and different drm-formats
        // have nothing in common.
        let sysmem = caps("video/x-raw, format=DMA_DRM, drm-format=NV12");
        assert!(src.intersect(&sysmem).is_empty());
        let other = caps("video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=XR24");
        assert!(src.intersect(&other).is_empty());
        // fixate_field_string steers the choice.
        let mut steer = common.clone();
        assert!(steer.fixate_field_string(DRM_FORMAT_FIELD, "YU12"));
        assert_eq!(
            VideoInfoDmaDrm::from_caps(&steer.fixate())
                .unwrap()
                .drm_format(),
            DrmFormat::linear(DrmFourcc::Yuv420)
        );
    }

    proptest! {
        // Few cases under Miri (slow), and no failure files (Miri isolates the file system).
        #![proptest_config(ProptestConfig {
            cases: if cfg!(miri) { 4 } else { 256 },
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn caps_round_trip(
            fourcc in prop::sample::select(DrmFormatSetFourccs::all()),
            modifier in prop_oneof![Just(0u64), Just(TILED), Just(DRM_FORMAT_MOD_INVALID), any::<u64>()],
            width in 1u32..5000,
            height in 1u32..5000,
        ) {
            let info = VideoInfoDmaDrm::new(DrmFormat::new(fourcc, modifier), width, height).unwrap();
            let text = info.to_caps().to_string();
            let parsed: Caps = text.parse().unwrap();
            prop_assert_eq!(VideoInfoDmaDrm::from_caps(&parsed).unwrap(), info.clone());
            prop_assert_eq!(info.video_info().is_some(), modifier == 0);
        }
    }

    /// Fourccs for the property test.
    struct DrmFormatSetFourccs;
    impl DrmFormatSetFourccs {
        fn all() -> Vec<DrmFourcc> {
            VideoFormat::ALL
                .iter()
                .filter_map(|f| f.drm_fourcc())
                .collect()
        }
    }
}
