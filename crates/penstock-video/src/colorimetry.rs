//! [`Colorimetry`]: how the samples of a frame encode colour — range, matrix, transfer
//! function, primaries and chroma siting — with GStreamer's defaults and its caps
//! strings (`colorimetry=bt709`, `colorimetry=1:4:0:0`, `chroma-site=mpeg2`).
//!
//! Every [`VideoInfo`](crate::VideoInfo) carries one: [`VideoInfo::new`](crate::VideoInfo::new)
//! gives GStreamer's default for the format and size ([`Colorimetry::default_for`]), and
//! [`frame::info_from_caps`](crate::frame::info_from_caps) reads the caps' fields
//! ([`Colorimetry::from_caps_fields`]). The convert kernels and the test-pattern renderer
//! take their matrix, range and siting from it.

use std::fmt;

use crate::VideoFormat;

/// The quantisation range of the samples (GStreamer's `GstVideoColorRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColorRange {
    /// Not known.
    Unknown,
    /// Full range: 0..=255 for 8-bit samples.
    Full,
    /// Limited ("studio") range: Y' 16..=235, Cb and Cr 16..=240.
    Limited,
}

/// The matrix between R'G'B' and Y'CbCr (GStreamer's `GstVideoColorMatrix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColorMatrix {
    /// Not known.
    Unknown,
    /// Identity: the samples are R'G'B'.
    Rgb,
    /// FCC (NTSC 1953), Kr = 0.30, Kb = 0.11.
    Fcc,
    /// ITU-R BT.709 (HD), Kr = 0.2126, Kb = 0.0722.
    Bt709,
    /// ITU-R BT.601 (SD), Kr = 0.299, Kb = 0.114.
    Bt601,
    /// SMPTE 240M, Kr = 0.212, Kb = 0.087.
    Smpte240m,
    /// ITU-R BT.2020 (UHD), Kr = 0.2627, Kb = 0.0593.
    Bt2020,
}

impl ColorMatrix {
    /// Kr and Kb, the red and blue luma weights; `None` for [`ColorMatrix::Unknown`] and
    /// [`ColorMatrix::Rgb`], which have none.
    pub fn kr_kb(self) -> Option<(f64, f64)> {
        match self {
            ColorMatrix::Bt601 => Some((0.299, 0.114)),
            ColorMatrix::Bt709 => Some((0.2126, 0.0722)),
            ColorMatrix::Bt2020 => Some((0.2627, 0.0593)),
            ColorMatrix::Fcc => Some((0.30, 0.11)),
            ColorMatrix::Smpte240m => Some((0.212, 0.087)),
            ColorMatrix::Unknown | ColorMatrix::Rgb => None,
        }
    }
}

/// The transfer function ("gamma") of the samples (GStreamer's
/// `GstVideoTransferFunction`, in its order, which is its numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferFunction {
    /// Not known.
    Unknown,
    /// Linear (gamma 1.0).
    Gamma10,
    /// Gamma 1.8.
    Gamma18,
    /// Gamma 2.0.
    Gamma20,
    /// Gamma 2.2.
    Gamma22,
    /// ITU-R BT.709.
    Bt709,
    /// SMPTE 240M.
    Smpte240m,
    /// sRGB (gamma 2.4 with a linear segment).
    Srgb,
    /// Gamma 2.8.
    Gamma28,
    /// Logarithmic, 100:1 range.
    Log100,
    /// Logarithmic, 316.22777:1 range.
    Log316,
    /// ITU-R BT.2020, 12 bits.
    Bt2020_12,
    /// Adobe RGB (gamma 2.19921875).
    AdobeRgb,
    /// ITU-R BT.2020, 10 bits.
    Bt2020_10,
    /// SMPTE ST 2084 (PQ), for HDR.
    Smpte2084,
    /// ARIB STD-B67 (HLG), for HDR.
    AribStdB67,
    /// ITU-R BT.601 (the same curve as BT.709).
    Bt601,
}

/// The colour primaries (GStreamer's `GstVideoColorPrimaries`, in its order, which is
/// its numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColorPrimaries {
    /// Not known.
    Unknown,
    /// ITU-R BT.709 (and sRGB).
    Bt709,
    /// ITU-R BT.470 System M (NTSC 1953).
    Bt470m,
    /// ITU-R BT.470 System B, G (PAL).
    Bt470bg,
    /// SMPTE 170M (NTSC, BT.601 525 lines).
    Smpte170m,
    /// SMPTE 240M.
    Smpte240m,
    /// Generic film.
    Film,
    /// ITU-R BT.2020.
    Bt2020,
    /// Adobe RGB.
    AdobeRgb,
    /// SMPTE ST 428 (CIE 1931 XYZ).
    Smptest428,
    /// SMPTE RP 431 (DCI-P3).
    Smpterp431,
    /// SMPTE EG 432 (Display P3).
    Smpteeg432,
    /// EBU 3213 (JEDEC P22 phosphors).
    Ebu3213,
}

/// Where subsampled chroma samples sit relative to luma samples: GStreamer's
/// `GstVideoChromaSite` flags.
///
/// Without [`ChromaSite::H_COSITED`] chroma is centred horizontally between two luma
/// columns; without [`ChromaSite::V_COSITED`], vertically between two rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChromaSite(u8);

impl ChromaSite {
    /// Not known (centred, in practice).
    pub const UNKNOWN: ChromaSite = ChromaSite(0);
    /// Centred both ways (GStreamer's `jpeg`).
    pub const NONE: ChromaSite = ChromaSite(1);
    /// On the even luma column.
    pub const H_COSITED: ChromaSite = ChromaSite(2);
    /// On the even luma row.
    pub const V_COSITED: ChromaSite = ChromaSite(4);
    /// Alternate lines (DV).
    pub const ALT_LINE: ChromaSite = ChromaSite(8);
    /// Co-sited both ways.
    pub const COSITED: ChromaSite = ChromaSite(2 | 4);
    /// JPEG: centred.
    pub const JPEG: ChromaSite = ChromaSite::NONE;
    /// MPEG-2: horizontally co-sited, vertically centred.
    pub const MPEG2: ChromaSite = ChromaSite::H_COSITED;
    /// DV: co-sited, alternate lines.
    pub const DV: ChromaSite = ChromaSite(2 | 4 | 8);

    const FLAGS: [(&'static str, ChromaSite); 5] = [
        ("none", ChromaSite::NONE),
        ("h-cosited", ChromaSite::H_COSITED),
        ("v-cosited", ChromaSite::V_COSITED),
        ("alt-line", ChromaSite::ALT_LINE),
        ("cosited", ChromaSite::COSITED),
    ];

    /// Reads a caps `chroma-site` value: `jpeg`, `mpeg2`, `dv`, `unknown`, or flags
    /// joined by `+` (`h-cosited+v-cosited`), as GStreamer writes them. `None` for
    /// anything else.
    pub fn from_caps_str(s: &str) -> Option<ChromaSite> {
        match s {
            "jpeg" => return Some(ChromaSite::JPEG),
            "mpeg2" => return Some(ChromaSite::MPEG2),
            "dv" => return Some(ChromaSite::DV),
            "unknown" => return Some(ChromaSite::UNKNOWN),
            _ => {}
        }
        let mut bits = 0;
        for part in s.split('+') {
            let (_, flag) = Self::FLAGS.iter().find(|(name, _)| *name == part)?;
            bits |= flag.0;
        }
        // `none` is exclusive.
        (bits & 1 == 0 || bits == 1).then_some(ChromaSite(bits))
    }

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: ChromaSite) -> bool {
        self.0 & other.0 == other.0
    }
}

impl fmt::Display for ChromaSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ChromaSite::UNKNOWN => return f.write_str("unknown"),
            ChromaSite::JPEG => return f.write_str("jpeg"),
            ChromaSite::MPEG2 => return f.write_str("mpeg2"),
            ChromaSite::DV => return f.write_str("dv"),
            _ => {}
        }
        let names: Vec<&str> = [
            ("h-cosited", ChromaSite::H_COSITED),
            ("v-cosited", ChromaSite::V_COSITED),
            ("alt-line", ChromaSite::ALT_LINE),
        ]
        .iter()
        .filter(|(_, flag)| self.contains(*flag))
        .map(|(name, _)| *name)
        .collect();
        f.write_str(&names.join("+"))
    }
}

/// A caps `colorimetry` or `chroma-site` value that cannot be read for a format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}={value} for {format}: {why}")]
pub struct ColorimetryError {
    /// The caps field: `colorimetry` or `chroma-site`.
    pub field: &'static str,
    /// The value as written.
    pub value: String,
    /// The frames' format.
    pub format: VideoFormat,
    /// Why it cannot be used.
    pub why: &'static str,
}

/// How the samples of a frame encode colour (GStreamer's `GstVideoColorimetry` plus the
/// chroma siting `GstVideoInfo` keeps next to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Colorimetry {
    /// Quantisation range.
    pub range: ColorRange,
    /// R'G'B' ↔ Y'CbCr matrix ([`ColorMatrix::Rgb`] for RGB formats).
    pub matrix: ColorMatrix,
    /// Transfer function.
    pub transfer: TransferFunction,
    /// Colour primaries.
    pub primaries: ColorPrimaries,
    /// Siting of subsampled chroma ([`ChromaSite::UNKNOWN`] for RGB and gray).
    pub chroma_site: ChromaSite,
}

/// GStreamer's named colorimetries (`gst_video_colorimetry_from_string`), chroma site
/// left unknown.
const NAMED: [(&str, Colorimetry); 8] = {
    use ColorMatrix as M;
    use ColorPrimaries as P;
    use ColorRange::{Full, Limited};
    use TransferFunction as T;
    const fn c(range: ColorRange, matrix: M, transfer: T, primaries: P) -> Colorimetry {
        Colorimetry {
            range,
            matrix,
            transfer,
            primaries,
            chroma_site: ChromaSite::UNKNOWN,
        }
    }
    [
        ("bt601", c(Limited, M::Bt601, T::Bt601, P::Smpte170m)),
        ("bt709", c(Limited, M::Bt709, T::Bt709, P::Bt709)),
        (
            "smpte240m",
            c(Limited, M::Smpte240m, T::Smpte240m, P::Smpte240m),
        ),
        ("sRGB", c(Full, M::Rgb, T::Srgb, P::Bt709)),
        ("bt2020", c(Limited, M::Bt2020, T::Bt2020_12, P::Bt2020)),
        ("bt2020-10", c(Limited, M::Bt2020, T::Bt2020_10, P::Bt2020)),
        ("bt2100-pq", c(Limited, M::Bt2020, T::Smpte2084, P::Bt2020)),
        (
            "bt2100-hlg",
            c(Limited, M::Bt2020, T::AribStdB67, P::Bt2020),
        ),
    ]
};

const RANGES: [ColorRange; 3] = [ColorRange::Unknown, ColorRange::Full, ColorRange::Limited];
const MATRICES: [ColorMatrix; 7] = [
    ColorMatrix::Unknown,
    ColorMatrix::Rgb,
    ColorMatrix::Fcc,
    ColorMatrix::Bt709,
    ColorMatrix::Bt601,
    ColorMatrix::Smpte240m,
    ColorMatrix::Bt2020,
];
const TRANSFERS: [TransferFunction; 17] = {
    use TransferFunction::*;
    [
        Unknown, Gamma10, Gamma18, Gamma20, Gamma22, Bt709, Smpte240m, Srgb, Gamma28, Log100,
        Log316, Bt2020_12, AdobeRgb, Bt2020_10, Smpte2084, AribStdB67, Bt601,
    ]
};
const PRIMARIES: [ColorPrimaries; 13] = {
    use ColorPrimaries::*;
    [
        Unknown, Bt709, Bt470m, Bt470bg, Smpte170m, Smpte240m, Film, Bt2020, AdobeRgb, Smptest428,
        Smpterp431, Smpteeg432, Ebu3213,
    ]
};

/// GStreamer's number of `v` in `table` (its index).
fn number<T: PartialEq>(table: &[T], v: &T) -> usize {
    table.iter().position(|t| t == v).unwrap_or(0)
}

impl Colorimetry {
    /// GStreamer 1.22's colorimetry for `format` frames `height` rows high whose caps
    /// say none (its `set_default_colorimetry`): YUV is limited range with BT.601 up to
    /// 576 rows (chroma centred), BT.709 above and BT.2020 from 2160 rows (chroma
    /// horizontally co-sited); RGB is full-range sRGB; gray is full-range BT.601.
    pub fn default_for(format: VideoFormat, height: u32) -> Colorimetry {
        use ColorMatrix as M;
        use ColorPrimaries as P;
        use TransferFunction as T;
        let (range, matrix, transfer, primaries, chroma_site) = if format.is_yuv() {
            if height >= 2160 {
                let site = ChromaSite::H_COSITED;
                (
                    ColorRange::Limited,
                    M::Bt2020,
                    T::Bt2020_12,
                    P::Bt2020,
                    site,
                )
            } else if height > 576 {
                let site = ChromaSite::H_COSITED;
                (ColorRange::Limited, M::Bt709, T::Bt709, P::Bt709, site)
            } else {
                let site = ChromaSite::NONE;
                (ColorRange::Limited, M::Bt601, T::Bt601, P::Smpte170m, site)
            }
        } else if format.is_gray() {
            let site = ChromaSite::UNKNOWN;
            (ColorRange::Full, M::Bt601, T::Unknown, P::Unknown, site)
        } else {
            (
                ColorRange::Full,
                M::Rgb,
                T::Srgb,
                P::Bt709,
                ChromaSite::UNKNOWN,
            )
        };
        Colorimetry {
            range,
            matrix,
            transfer,
            primaries,
            chroma_site,
        }
    }

    /// Reads the caps fields `colorimetry` and `chroma-site` of `format` frames `height`
    /// rows high (`None`: the field is absent), the way GStreamer 1.22's
    /// `gst_video_info_from_caps` does:
    ///
    /// * without `colorimetry`, everything is [`Colorimetry::default_for`] the format and
    ///   size, and `chroma-site` is not read (GStreamer overwrites it);
    /// * `colorimetry` is one of GStreamer's names (`bt601`, `bt709`, `bt2020`,
    ///   `bt2020-10`, `bt2100-pq`, `bt2100-hlg`, `smpte240m`, `sRGB`) or its
    ///   `range:matrix:transfer:primaries` numbers (range 0 unknown, 1 full, 2 limited;
    ///   matrix 0 unknown, 1 RGB, 2 FCC, 3 BT.709, 4 BT.601, 5 SMPTE 240M, 6 BT.2020;
    ///   transfer and primaries numbered as [`TransferFunction`] and [`ColorPrimaries`]).
    ///   An unknown (0) range or matrix takes the default of the format and size;
    ///   transfer and primaries stay as written (numbers GStreamer does not have read as
    ///   unknown). RGB formats always get the RGB matrix; gray formats take whatever is
    ///   written;
    /// * with `colorimetry`, the chroma siting is `chroma-site`'s
    ///   ([`ChromaSite::from_caps_str`]), or unknown (centred) when it is absent, whatever
    ///   the size.
    ///
    /// # Errors
    /// [`ColorimetryError`] for a `colorimetry` that is neither a name nor four numbers,
    /// a YUV one with the RGB matrix or a range or matrix number GStreamer does not
    /// have, or a `chroma-site` GStreamer cannot read.
    pub fn from_caps_fields(
        format: VideoFormat,
        height: u32,
        colorimetry: Option<&str>,
        chroma_site: Option<&str>,
    ) -> Result<Colorimetry, ColorimetryError> {
        let default = Colorimetry::default_for(format, height);
        let Some(v) = colorimetry else {
            return Ok(default);
        };
        let bad = |why: &'static str| ColorimetryError {
            field: "colorimetry",
            value: v.to_owned(),
            format,
            why,
        };
        let mut c = match NAMED.iter().find(|(name, _)| *name == v) {
            Some((_, c)) => *c,
            None => {
                let parts: Vec<Option<u32>> = v.split(':').map(|p| p.parse().ok()).collect();
                let [Some(r), Some(m), Some(t), Some(p)] = parts.as_slice() else {
                    return Err(bad(
                        "not a GStreamer colorimetry name nor range:matrix:transfer:primaries",
                    ));
                };
                let get = |n: u32, len: usize| usize::try_from(n).ok().filter(|&n| n < len);
                let range = get(*r, RANGES.len()).map(|n| RANGES[n]);
                let matrix = get(*m, MATRICES.len()).map(|n| MATRICES[n]);
                if format.is_yuv() {
                    if range.is_none() {
                        return Err(bad("unknown range number"));
                    }
                    if matrix.is_none() {
                        return Err(bad("unknown matrix number"));
                    }
                }
                Colorimetry {
                    range: range.unwrap_or(ColorRange::Unknown),
                    matrix: matrix.unwrap_or(ColorMatrix::Unknown),
                    transfer: get(*t, TRANSFERS.len())
                        .map_or(TransferFunction::Unknown, |n| TRANSFERS[n]),
                    primaries: get(*p, PRIMARIES.len())
                        .map_or(ColorPrimaries::Unknown, |n| PRIMARIES[n]),
                    chroma_site: ChromaSite::UNKNOWN,
                }
            }
        };
        if format.is_yuv() && c.matrix == ColorMatrix::Rgb {
            return Err(bad("YUV cannot have the RGB matrix"));
        }
        if format.is_rgb() {
            c.matrix = ColorMatrix::Rgb;
        }
        if c.range == ColorRange::Unknown {
            c.range = default.range;
        }
        if c.matrix == ColorMatrix::Unknown {
            c.matrix = default.matrix;
        }
        if let Some(s) = chroma_site {
            c.chroma_site = ChromaSite::from_caps_str(s).ok_or_else(|| ColorimetryError {
                field: "chroma-site",
                value: s.to_owned(),
                format,
                why: "not a GStreamer chroma site (jpeg, mpeg2, dv, or flags such as \
                      h-cosited+v-cosited)",
            })?;
        }
        Ok(c)
    }

    /// The colour space samples of `format` are in: RGB for RGB formats, Y'CbCr with
    /// this matrix and range for YUV and gray ones.
    pub fn space(&self, format: VideoFormat) -> Space {
        if format.is_rgb() {
            Space::Rgb
        } else {
            Space::Yuv(self.matrix, self.range)
        }
    }
}

impl fmt::Display for Colorimetry {
    /// GStreamer's caps string (`gst_video_colorimetry_to_string`): the name when one
    /// fits, else `range:matrix:transfer:primaries`. The chroma siting is not part of it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bare = Colorimetry {
            chroma_site: ChromaSite::UNKNOWN,
            ..*self
        };
        if let Some((name, _)) = NAMED.iter().find(|(_, c)| *c == bare) {
            return f.write_str(name);
        }
        write!(
            f,
            "{}:{}:{}:{}",
            number(&RANGES, &self.range),
            number(&MATRICES, &self.matrix),
            number(&TRANSFERS, &self.transfer),
            number(&PRIMARIES, &self.primaries)
        )
    }
}

/// The colour space samples are computed in: what the convert kernels
/// ([`crate::convert::matrix`]) and the test patterns need of a [`Colorimetry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Space {
    /// R'G'B', full range.
    Rgb,
    /// Y'CbCr with this matrix, in this range ([`ColorRange::Full`] is full range,
    /// anything else limited).
    Yuv(ColorMatrix, ColorRange),
}

impl Space {
    /// The matrix used to go between RGB and this space (`None` for RGB).
    pub fn matrix(self) -> Option<ColorMatrix> {
        match self {
            Space::Yuv(m, _) => Some(m),
            Space::Rgb => None,
        }
    }

    /// Whether samples use the full range (RGB always does).
    pub fn is_full_range(self) -> bool {
        matches!(self, Space::Rgb | Space::Yuv(_, ColorRange::Full))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VideoFormat::*;

    #[test]
    fn defaults_follow_gstreamer() {
        let d = Colorimetry::default_for;
        assert_eq!(d(I420, 576).matrix, ColorMatrix::Bt601);
        assert_eq!(d(I420, 576).chroma_site, ChromaSite::NONE);
        assert_eq!(d(I420, 577).matrix, ColorMatrix::Bt709);
        assert_eq!(d(I420, 577).chroma_site, ChromaSite::H_COSITED);
        assert_eq!(d(Nv12, 2159).matrix, ColorMatrix::Bt709);
        assert_eq!(d(Nv12, 2160).matrix, ColorMatrix::Bt2020);
        assert_eq!(d(Nv12, 2160).range, ColorRange::Limited);
        assert_eq!(
            d(Gray8, 1080).space(Gray8),
            Space::Yuv(ColorMatrix::Bt601, ColorRange::Full)
        );
        assert_eq!(d(Rgbx, 48).space(Rgbx), Space::Rgb);
        assert_eq!(d(Rgbx, 48).to_string(), "sRGB");
        assert_eq!(d(I420, 720).to_string(), "bt709");
        assert_eq!(d(I420, 480).to_string(), "bt601");
    }

    #[test]
    fn caps_fields_are_read_like_gstreamer() {
        let read = |f, h, c, s| Colorimetry::from_caps_fields(f, h, c, s).unwrap();
        // Without colorimetry, chroma-site is not read.
        assert_eq!(
            read(I420, 720, None, Some("jpeg")),
            Colorimetry::default_for(I420, 720)
        );
        // With it, an absent chroma-site is unknown whatever the size.
        let c = read(I420, 720, Some("bt709"), None);
        assert_eq!(c.chroma_site, ChromaSite::UNKNOWN);
        assert_eq!(
            read(I420, 48, Some("bt709"), Some("mpeg2")).chroma_site,
            ChromaSite::MPEG2
        );
        assert_eq!(
            read(I420, 48, Some("bt709"), Some("v-cosited+h-cosited")).chroma_site,
            ChromaSite::COSITED
        );
        assert_eq!(ChromaSite::from_caps_str("none+h-cosited"), None);
        assert_eq!(ChromaSite::DV.to_string(), "dv");
        assert_eq!(ChromaSite::V_COSITED.to_string(), "v-cosited");
        // Numbers, unknown parts defaulted.
        let c = read(I420, 48, Some("1:4:0:0"), None);
        assert_eq!((c.range, c.matrix), (ColorRange::Full, ColorMatrix::Bt601));
        assert_eq!(c.to_string(), "1:4:0:0");
        let c = read(I420, 720, Some("0:0:0:0"), None);
        assert_eq!(
            (c.range, c.matrix),
            (ColorRange::Limited, ColorMatrix::Bt709)
        );
        assert_eq!(c.to_string(), "2:3:0:0");
        assert_eq!(
            read(Rgba, 48, Some("1:4:0:0"), None).matrix,
            ColorMatrix::Rgb
        );
        assert_eq!(
            read(Gray8, 48, Some("bt709"), None).matrix,
            ColorMatrix::Bt709
        );
        assert_eq!(
            read(Yuy2, 48, Some("bt2100-pq"), None).transfer,
            TransferFunction::Smpte2084
        );
        // Refused, naming the field, the value and the format.
        for (f, c, s) in [
            (I420, "bogus", None),
            (I420, "1:4:0", None),
            (I420, "1:x:0:0", None),
            (I420, "1:1:0:0", None),
            (I420, "3:4:0:0", None),
            (I420, "1:9:0:0", None),
            (I420, "sRGB", None),
            (I420, "bt709", Some("sideways")),
        ] {
            let e = Colorimetry::from_caps_fields(f, 48, Some(c), s).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains(s.unwrap_or(c)) && text.contains(f.name()),
                "{text}"
            );
        }
    }
}
