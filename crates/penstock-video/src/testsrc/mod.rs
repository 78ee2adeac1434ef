//! The pixels of a `videotestsrc`: GStreamer's test patterns drawn into raw frames,
//! byte for byte as GStreamer 1.22's `videotestsrc` draws them.
//!
//! A [`Renderer`] is made for one [`Pattern`], one frame layout ([`VideoInfo`]) and one
//! set of [`RenderOptions`]; [`Renderer::render`] then draws frame number `n` into a
//! buffer with any plane offsets and strides (such as a video meta describes).
//!
//! ```
//! use penstock_video::testsrc::{Pattern, RenderOptions, Renderer};
//! use penstock_video::{VideoFormat, VideoInfo};
//!
//! let info = VideoInfo::new(VideoFormat::Nv12, 320, 240)?;
//! let mut r = Renderer::new(Pattern::Smpte, &info, RenderOptions::default())?;
//! let mut frame = vec![0u8; info.size()];
//! r.render(0, &mut frame, &info.offsets(), &info.strides())?;
//! assert_eq!(frame[0], 235); // white bar, BT.601 Y'
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How GStreamer draws, and so how this does
//!
//! Each row is painted as a line of `[A, Y, Cb, Cr]` pixels (YUV and gray output) or
//! `[A, R, G, B]` pixels (RGB output), scrolled by `horizontal_speed * n` pixels,
//! chroma-subsampled and packed into the format:
//!
//! * Colours come from fixed tables (the standard 100% and 75% bar values for BT.601,
//!   BT.709 and RGB); the foreground and background colours are converted from RGB with
//!   10-bit fixed-point BT.601 or BT.709 coefficients, the grays of the noise with
//!   Y' = 16 + 219 v / 255 rounded. The matrix is the [`VideoInfo::colorimetry`]'s:
//!   BT.601 tables for BT.601, BT.709 ones for any other (GStreamer's default
//!   colorimetry: BT.709 for YUV frames more than 576 rows high, BT.601 for the
//!   others and for gray).
//! * 4:2:0 chroma is the rounded average of two rows, then filtered horizontally
//!   (by the colorimetry's [`ChromaSite`]: a 2-tap average when centred, GStreamer's
//!   default up to 576 rows; a [1 2 1] filter when co-sited, its default above); 4:2:2
//!   is only filtered horizontally. For packing, `RGBx`-like formats get the alpha value
//!   in their unused byte.
//! * Patterns that do not change ([`Renderer::is_static`]) are drawn once and then
//!   copied, with GStreamer's frame copy: that copy does not write the last chroma
//!   sample of a YUY2 or UYVY row of odd width (those bytes keep what the buffer held).
//!   Frames drawn afresh every frame (`smpte`, `snow`, `blink`, `ball`, and any pattern
//!   with a `horizontal_speed`) do write it. Bytes outside the visible rows (stride
//!   padding, the unused luma sample of a 4:2:2 pair of odd width) are never written.
//! * Noise (`snow`, and the bottom right corner of `smpte`) comes from GStreamer's
//!   generator: a 32-bit linear congruential generator starting at 0, drawn once per
//!   noise pixel in row order and carrying on from frame to frame. Frame `n` therefore
//!   starts `n` frames' worth of draws in, which [`Renderer::render`] computes directly,
//!   so frames may be drawn in any order and match a GStreamer stream started at frame 0.
//!
//! * The `smpte` pattern's bottom rows leave a few pixels unpainted when the width is
//!   not a multiple of 12 (between the PLUGE and the noise); GStreamer shows the row
//!   above there, and so does this. In a frame one row high there is no row above and
//!   GStreamer shows whatever its uninitialised working line holds; this draws zeros.
//!
//! # Limits
//!
//! Patterns marked unsupported ([`Pattern::is_supported`]) are refused. The ball only
//! has GStreamer's default motion (`wavy`, positioned by frame number, GStreamer's
//! default `animation-mode`). GStreamer 1.22's 26th pattern, `smpte-rp-219`, is not in
//! [`Pattern`].

mod color;
mod pack;
mod patterns;
#[cfg(test)]
mod tests;

pub use patterns::Pattern;

use color::{Named, Palette};
use pack::{Cache, HSite, LumaWriter, Packer, Target};
use patterns::{FrameState, Lcg, Painter};

use crate::{ChromaSite, MAX_PLANES, VideoError, VideoFormat, VideoInfo};

/// Drawing options: the `videotestsrc` properties that change pixels.
///
/// `RenderOptions::default()` has GStreamer's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// Foreground colour as big-endian ARGB (`0xAARRGGBB`), GStreamer's
    /// `foreground-color`: the `solid-color` colour, the `bar`, the `ball`. Default
    /// `0xffffffff` (opaque white). Its alpha goes into the alpha (or unused) byte of
    /// RGB formats with one.
    pub foreground_color: u32,
    /// Background colour as big-endian ARGB, GStreamer's `background-color`: around the
    /// `bar` and the `ball`. Default `0xff000000` (opaque black).
    pub background_color: u32,
    /// Pixels the picture scrolls left per frame (negative: right), GStreamer's
    /// `horizontal-speed`. Default 0.
    pub horizontal_speed: i32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            foreground_color: 0xffff_ffff,
            background_color: 0xff00_0000,
            horizontal_speed: 0,
        }
    }
}

/// Errors from making a [`Renderer`] or rendering a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TestSrcError {
    /// A pattern penstock does not draw.
    #[error(
        "videotestsrc pattern {} ({}) is not supported by penstock; supported patterns: {}",
        pattern.nick(),
        pattern.value(),
        Pattern::supported_nicks()
    )]
    UnsupportedPattern {
        /// The pattern asked for.
        pattern: Pattern,
    },
    /// Fewer offsets or strides than the format has planes.
    #[error(
        "{format} has {n_planes} plane(s) but {offsets} offset(s) and {strides} stride(s) \
         were given; pass one offset and one stride per plane"
    )]
    PlaneCount {
        /// The frame's format.
        format: VideoFormat,
        /// Planes of the format.
        n_planes: usize,
        /// Offsets given.
        offsets: usize,
        /// Strides given.
        strides: usize,
    },
    /// A chroma siting the renderer does not draw: it filters chroma horizontally
    /// centred or co-sited, and vertically centred only.
    #[error(
        "{format} chroma-site={site}: videotestsrc renders jpeg (centred) and mpeg2 \
         (co-sited) chroma only"
    )]
    UnsupportedChromaSite {
        /// The frame's format.
        format: VideoFormat,
        /// The siting asked for.
        site: ChromaSite,
    },
    /// Offsets, strides and buffer size that cannot hold the frame.
    #[error("cannot render into this frame: {0}")]
    Layout(#[from] VideoError),
}

/// How frames are produced.
#[derive(Debug, Clone)]
enum Mode {
    /// Drawn once, written with GStreamer's frame-copy semantics.
    Still(Cache),
    /// Drawn afresh every frame.
    Draw,
    /// `smpte` or `snow` without scrolling: everything but the noise is cached (chroma of
    /// noise is always neutral), then the noise is written from pixel `x0` of rows `y0..`.
    Noise {
        base: Cache,
        x0: usize,
        y0: usize,
        luma: LumaWriter,
    },
    /// `blink`: the black and the white frame.
    Blink(Box<[Cache; 2]>),
    /// `ball`: the background frame, then the rows the ball touches.
    Ball(Cache),
}

/// Draws the frames of one pattern for one frame layout. See the [module
/// documentation](self).
#[derive(Debug, Clone)]
pub struct Renderer {
    pattern: Pattern,
    info: VideoInfo,
    options: RenderOptions,
    packer: Packer,
    palette: Palette,
    painter: Painter,
    /// Noise draws per frame.
    noise_per_frame: u64,
    mode: Mode,
}

impl Renderer {
    /// Prepares to draw `pattern` into frames of `info`'s format, size and colorimetry
    /// (its layout does not matter), drawing static patterns once now.
    ///
    /// YUV and gray colours are BT.601's when the colorimetry's matrix is BT.601 and
    /// BT.709's otherwise, limited range either way (as GStreamer's videotestsrc draws
    /// them); subsampled chroma is filtered co-sited when the chroma site is
    /// horizontally co-sited, centred otherwise.
    ///
    /// # Errors
    ///
    /// [`TestSrcError::UnsupportedPattern`] for a pattern that is not
    /// [supported](Pattern::is_supported); [`TestSrcError::UnsupportedChromaSite`] for
    /// YUV with vertically co-sited or alternate-line chroma.
    pub fn new(
        pattern: Pattern,
        info: &VideoInfo,
        options: RenderOptions,
    ) -> Result<Renderer, TestSrcError> {
        let format = info.format();
        let (w, h) = (info.width() as usize, info.height() as usize);
        let colorimetry = info.colorimetry();
        let space = colorimetry.space(format);
        let site = colorimetry.chroma_site;
        if format.is_yuv()
            && (site.contains(ChromaSite::V_COSITED) || site.contains(ChromaSite::ALT_LINE))
        {
            return Err(TestSrcError::UnsupportedChromaSite { format, site });
        }
        let site = if site.contains(ChromaSite::H_COSITED) {
            HSite::Cosited
        } else {
            HSite::Center
        };
        let palette = Palette::new(space, options.foreground_color, options.background_color);
        let painter = match pattern {
            Pattern::Smpte => Painter::Smpte,
            Pattern::Snow => Painter::Snow,
            Pattern::Black => Painter::Solid(palette.get(Named::Black)),
            Pattern::White => Painter::Solid(palette.get(Named::White)),
            Pattern::Red => Painter::Solid(palette.get(Named::Red)),
            Pattern::Green => Painter::Solid(palette.get(Named::Green)),
            Pattern::Blue => Painter::Solid(palette.get(Named::Blue)),
            Pattern::Checkers1 => Painter::Checkers(1),
            Pattern::Checkers2 => Painter::Checkers(2),
            Pattern::Checkers4 => Painter::Checkers(4),
            Pattern::Checkers8 => Painter::Checkers(8),
            Pattern::Blink => Painter::Blink,
            Pattern::Smpte75 => Painter::Bars(palette.bars75()),
            Pattern::SolidColor => Painter::Solid(palette.fg),
            Pattern::Ball => Painter::Ball,
            Pattern::Smpte100 => Painter::Bars(palette.bars100()),
            Pattern::Bar => Painter::Bar,
            Pattern::Circular
            | Pattern::ZonePlate
            | Pattern::Gamut
            | Pattern::ChromaZonePlate
            | Pattern::Pinwheel
            | Pattern::Spokes
            | Pattern::Gradient
            | Pattern::Colors => return Err(TestSrcError::UnsupportedPattern { pattern }),
        };
        let (_, smpte_y2) = patterns::smpte_rows(h);
        let smpte_x0 = patterns::smpte_noise_x(w);
        let noise_per_frame = match pattern {
            Pattern::Snow => (w as u64).wrapping_mul(h as u64),
            Pattern::Smpte => ((w - smpte_x0) as u64).wrapping_mul((h - smpte_y2) as u64),
            _ => 0,
        };
        let packer = Packer::new(format, w, h, site);
        let mut r = Renderer {
            pattern,
            info: info.clone(),
            options,
            packer,
            palette,
            painter,
            noise_per_frame,
            mode: Mode::Draw,
        };
        let scrolls = r.options.horizontal_speed != 0;
        let pack_segs = |p: usize| r.packer.pack_segments(p);
        let frame = |n: u64| {
            let r = &r;
            move |out: &mut Target<'_>| r.draw_frame(n, 0..h, out)
        };
        let mode = match pattern {
            _ if pattern.is_still() && !scrolls => Mode::Still(Cache::build(
                &r.packer,
                |p| r.packer.copy_segments(p),
                frame(0),
            )),
            Pattern::Smpte | Pattern::Snow if !scrolls => {
                let snow = pattern == Pattern::Snow;
                Mode::Noise {
                    base: Cache::build(&r.packer, pack_segs, frame(0)),
                    x0: if snow { 0 } else { smpte_x0 },
                    y0: if snow { 0 } else { smpte_y2 },
                    luma: LumaWriter::new(&r.packer),
                }
            }
            // Both frames of blink and the ball's background have identical pixels
            // across each row, so scrolling does not change them.
            Pattern::Blink => Mode::Blink(Box::new([
                Cache::build(&r.packer, pack_segs, frame(0)),
                Cache::build(&r.packer, pack_segs, frame(1)),
            ])),
            Pattern::Ball => {
                let bg = Painter::Solid(r.palette.bg);
                let mut state = r.frame_state(0);
                Mode::Ball(Cache::build(&r.packer, pack_segs, |out| {
                    r.packer.draw_rows(0..h, 0, out, |y, line| {
                        bg.paint(&r.palette, y, h, &mut state, line);
                    });
                }))
            }
            _ => Mode::Draw,
        };
        r.mode = mode;
        Ok(r)
    }

    /// The pattern drawn.
    pub fn pattern(&self) -> Pattern {
        self.pattern
    }

    /// The `VideoInfo` given to [`Renderer::new`]. Only its format and size matter:
    /// [`Renderer::render`] takes the actual offsets and strides.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// The options drawn with.
    pub fn options(&self) -> &RenderOptions {
        &self.options
    }

    /// Whether every frame is the same: a static pattern that does not scroll.
    /// [`Renderer::render`] then only copies (or fills) rows of a frame drawn once.
    pub fn is_static(&self) -> bool {
        matches!(self.mode, Mode::Still(_))
    }

    /// Draws frame number `n` (0-based; the ball moves with `n`, noise changes) into
    /// `frame`, laid out with the given per-plane `offsets` and `strides` (which may
    /// differ from the renderer's [`VideoInfo`] default layout: padded strides from a
    /// video meta, say). Only the bytes of visible rows that GStreamer writes are
    /// written; stride padding and the rest of the buffer are left as they are.
    ///
    /// `offsets` and `strides` need at least one entry per plane (extra ones are
    /// ignored, so `&info.offsets()` will do).
    ///
    /// # Errors
    ///
    /// [`TestSrcError::PlaneCount`] when too few offsets or strides are given;
    /// [`TestSrcError::Layout`] when a stride is smaller than a row or a plane does not
    /// fit in `frame`.
    pub fn render(
        &mut self,
        n: u64,
        frame: &mut [u8],
        offsets: &[usize],
        strides: &[usize],
    ) -> Result<(), TestSrcError> {
        let format = self.info.format();
        let n_planes = format.n_planes();
        if offsets.len() < n_planes || strides.len() < n_planes {
            return Err(TestSrcError::PlaneCount {
                format,
                n_planes,
                offsets: offsets.len(),
                strides: strides.len(),
            });
        }
        VideoInfo::with_layout(
            format,
            self.info.width(),
            self.info.height(),
            &offsets[..n_planes],
            &strides[..n_planes],
            frame.len(),
        )?;
        let mut target = Target {
            data: frame,
            offsets: [0; MAX_PLANES],
            strides: [0; MAX_PLANES],
        };
        target.offsets[..n_planes].copy_from_slice(&offsets[..n_planes]);
        target.strides[..n_planes].copy_from_slice(&strides[..n_planes]);
        let out = &mut target;
        let (w, h) = (self.info.width() as usize, self.info.height() as usize);
        match &self.mode {
            Mode::Still(cache) => cache.write(out),
            Mode::Draw => self.draw_frame(n, 0..h, out),
            Mode::Noise { base, x0, y0, luma } => {
                base.write(out);
                let mut rng = self.frame_state(n).rng;
                let gray = &self.palette.gray;
                let mut noise = vec![0u8; w - x0];
                for y in *y0..h {
                    rng.fill(&mut noise);
                    luma.write(out, y, *x0, noise.iter().map(|&v| gray[usize::from(v)]));
                }
            }
            Mode::Blink(frames) => frames[(n & 1) as usize].write(out),
            Mode::Ball(background) => {
                background.write(out);
                let center = patterns::ball_center(n, w, h);
                if let Some((first, last)) = patterns::ball_rows(center, h) {
                    // One row of margin either side, and whole row pairs for 4:2:0.
                    let start = first.saturating_sub(1) & !1;
                    let end = (last + 2).min(h);
                    let end = (end + end % 2).min(h);
                    self.draw_frame(n, start..end, out);
                }
            }
        }
        Ok(())
    }

    /// The painter's state at the start of frame `n`.
    fn frame_state(&self, n: u64) -> FrameState {
        // The generator has period 2^32, so only the draws modulo 2^32 matter.
        let steps = (u128::from(n) * u128::from(self.noise_per_frame)) % (1u128 << 32);
        let (w, h) = (self.info.width() as usize, self.info.height() as usize);
        FrameState {
            n,
            rng: Lcg(0).skip(steps as u64),
            ball: patterns::ball_center(n, w, h),
        }
    }

    /// Draws `rows` of frame `n` afresh.
    fn draw_frame(&self, n: u64, rows: std::ops::Range<usize>, out: &mut Target<'_>) {
        let w = self.info.width() as usize;
        let h = self.info.height() as usize;
        let x_offset = (i128::from(n) * i128::from(self.options.horizontal_speed))
            .rem_euclid(w as i128) as usize;
        let mut state = self.frame_state(n);
        // Noise before `rows` (only the ball draws partial frames, and it has none).
        debug_assert!(rows.start == 0 || self.noise_per_frame == 0);
        self.packer.draw_rows(rows, x_offset, out, |y, line| {
            self.painter.paint(&self.palette, y, h, &mut state, line);
        });
    }
}
