//! The patterns: their names and numbers, and how each paints one row of working
//! pixels.

use std::fmt;

use super::color::{Named, Palette, Px, blend};

/// A `videotestsrc` test pattern, numbered and named as GStreamer's
/// `GstVideoTestSrcPattern`.
///
/// Only some are drawn by penstock; see [`Pattern::is_supported`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// `smpte` (0): SMPTE colour bars with the -I/white/+Q and PLUGE rows below, and
    /// noise in the bottom right corner (so it changes every frame).
    Smpte,
    /// `snow` (1): random gray noise, new every frame.
    Snow,
    /// `black` (2): 100% black.
    Black,
    /// `white` (3): 100% white.
    White,
    /// `red` (4).
    Red,
    /// `green` (5).
    Green,
    /// `blue` (6).
    Blue,
    /// `checkers-1` (7): red and green checkers of 1 pixel.
    Checkers1,
    /// `checkers-2` (8): checkers of 2 pixels.
    Checkers2,
    /// `checkers-4` (9): checkers of 4 pixels.
    Checkers4,
    /// `checkers-8` (10): checkers of 8 pixels.
    Checkers8,
    /// `circular` (11). Not drawn by penstock.
    Circular,
    /// `blink` (12): black on even frames, white on odd ones.
    Blink,
    /// `smpte75` (13): the seven 75% colour bars, full height.
    Smpte75,
    /// `zone-plate` (14). Not drawn by penstock.
    ZonePlate,
    /// `gamut` (15). Not drawn by penstock.
    Gamut,
    /// `chroma-zone-plate` (16). Not drawn by penstock.
    ChromaZonePlate,
    /// `solid-color` (17): the foreground colour.
    SolidColor,
    /// `ball` (18): an anti-aliased ball of the foreground colour moving over the
    /// background colour.
    Ball,
    /// `smpte100` (19): the seven 100% colour bars, full height.
    Smpte100,
    /// `bar` (20): a vertical bar of the foreground colour, 1/7 of the width, at the
    /// left of the background colour.
    Bar,
    /// `pinwheel` (21). Not drawn by penstock.
    Pinwheel,
    /// `spokes` (22). Not drawn by penstock.
    Spokes,
    /// `gradient` (23). Not drawn by penstock.
    Gradient,
    /// `colors` (24). Not drawn by penstock.
    Colors,
}

/// Nicks in value order.
const NICKS: [&str; 25] = [
    "smpte",
    "snow",
    "black",
    "white",
    "red",
    "green",
    "blue",
    "checkers-1",
    "checkers-2",
    "checkers-4",
    "checkers-8",
    "circular",
    "blink",
    "smpte75",
    "zone-plate",
    "gamut",
    "chroma-zone-plate",
    "solid-color",
    "ball",
    "smpte100",
    "bar",
    "pinwheel",
    "spokes",
    "gradient",
    "colors",
];

impl Pattern {
    /// Every pattern, in value order (`Pattern::ALL[p.value() as usize] == p`).
    pub const ALL: [Pattern; 25] = [
        Pattern::Smpte,
        Pattern::Snow,
        Pattern::Black,
        Pattern::White,
        Pattern::Red,
        Pattern::Green,
        Pattern::Blue,
        Pattern::Checkers1,
        Pattern::Checkers2,
        Pattern::Checkers4,
        Pattern::Checkers8,
        Pattern::Circular,
        Pattern::Blink,
        Pattern::Smpte75,
        Pattern::ZonePlate,
        Pattern::Gamut,
        Pattern::ChromaZonePlate,
        Pattern::SolidColor,
        Pattern::Ball,
        Pattern::Smpte100,
        Pattern::Bar,
        Pattern::Pinwheel,
        Pattern::Spokes,
        Pattern::Gradient,
        Pattern::Colors,
    ];

    /// GStreamer's number for the pattern (`smpte` = 0 ... `colors` = 24).
    pub fn value(self) -> i32 {
        self as i32
    }

    /// GStreamer's nick (`"smpte"`, `"checkers-1"`, `"solid-color"`, ...), as used on a
    /// `gst-launch-1.0` command line.
    pub fn nick(self) -> &'static str {
        NICKS[self as usize]
    }

    /// The pattern with this nick (exact, as GStreamer's) or this decimal number, as
    /// `gst-launch-1.0` accepts either for an enum property; `None` otherwise.
    pub fn from_nick_or_value(s: &str) -> Option<Pattern> {
        if let Some(i) = NICKS.iter().position(|n| *n == s) {
            return Some(Pattern::ALL[i]);
        }
        let v: i64 = s.trim().parse().ok()?;
        usize::try_from(v)
            .ok()
            .and_then(|i| Pattern::ALL.get(i).copied())
    }

    /// Whether penstock draws this pattern. [`Renderer::new`](super::Renderer::new)
    /// refuses the others.
    pub fn is_supported(self) -> bool {
        !matches!(
            self,
            Pattern::Circular
                | Pattern::ZonePlate
                | Pattern::Gamut
                | Pattern::ChromaZonePlate
                | Pattern::Pinwheel
                | Pattern::Spokes
                | Pattern::Gradient
                | Pattern::Colors
        )
    }

    /// Whether the pattern looks the same in every frame when it does not scroll
    /// (`horizontal_speed == 0`). GStreamer draws these once and copies the result.
    pub(crate) fn is_still(self) -> bool {
        !matches!(
            self,
            Pattern::Smpte | Pattern::Snow | Pattern::Blink | Pattern::Ball
        )
    }

    /// The supported patterns' nicks, comma separated, for error messages.
    pub(crate) fn supported_nicks() -> String {
        Pattern::ALL
            .iter()
            .filter(|p| p.is_supported())
            .map(|p| p.nick())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.nick())
    }
}

/// GStreamer's random generator for noise: a 32-bit linear congruential generator
/// (the classic `rand()` constants) giving bits 16..24 of its state, with the state
/// starting at 0 when the element is created and carrying on from frame to frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lcg(pub(crate) u32);

const LCG_MUL: u32 = 1_103_515_245;
const LCG_ADD: u32 = 12_345;

impl Lcg {
    /// The next random byte.
    #[inline]
    pub(crate) fn next_byte(&mut self) -> u8 {
        self.0 = self.0.wrapping_mul(LCG_MUL).wrapping_add(LCG_ADD);
        (self.0 >> 16) as u8
    }

    /// The generator as it is after `steps` more draws, in O(log steps).
    pub(crate) fn skip(self, steps: u64) -> Lcg {
        let (m, a) = Self::step_map(steps);
        Lcg(self.0.wrapping_mul(m).wrapping_add(a))
    }

    /// `(m, a)` such that `steps` draws take the state `s` to `m * s + a`.
    fn step_map(mut steps: u64) -> (u32, u32) {
        // Compose the affine map s -> m*s + a with itself by squaring.
        let (mut m, mut a) = (LCG_MUL, LCG_ADD);
        let (mut acc_m, mut acc_a) = (1u32, 0u32);
        while steps > 0 {
            if steps & 1 == 1 {
                acc_m = acc_m.wrapping_mul(m);
                acc_a = acc_a.wrapping_mul(m).wrapping_add(a);
            }
            a = a.wrapping_mul(m).wrapping_add(a);
            m = m.wrapping_mul(m);
            steps >>= 1;
        }
        (acc_m, acc_a)
    }

    /// Fills `out` with the next `out.len()` draws and advances past them.
    ///
    /// Same bytes as calling [`Lcg::next_byte`] for each, but computed in 8 interleaved
    /// lanes (each jumping 8 draws at a time), which removes the serial dependency.
    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        const LANES: usize = 8;
        let (m8, a8) = Self::step_map(LANES as u64);
        let mut lanes = [0u32; LANES];
        let mut s = *self;
        for lane in &mut lanes {
            s.next_byte();
            *lane = s.0;
        }
        let mut chunks = out.chunks_exact_mut(LANES);
        for chunk in &mut chunks {
            for (d, lane) in chunk.iter_mut().zip(&mut lanes) {
                *d = (*lane >> 16) as u8;
                *lane = lane.wrapping_mul(m8).wrapping_add(a8);
            }
        }
        for (d, lane) in chunks.into_remainder().iter_mut().zip(&lanes) {
            *d = (*lane >> 16) as u8;
        }
        *self = self.skip(out.len() as u64);
    }
}

/// Radius of the ball, in pixels.
const BALL_RADIUS: f64 = 20.0;

/// What a frame of a pattern is made of, with its colours resolved.
#[derive(Debug, Clone)]
pub(crate) enum Painter {
    /// One colour everywhere.
    Solid(Px),
    /// Seven vertical bars, full height.
    Bars([Px; 7]),
    /// The SMPTE pattern.
    Smpte,
    /// Checkers of red and green squares of this many pixels.
    Checkers(usize),
    /// The foreground bar on the background.
    Bar,
    /// Random grays.
    Snow,
    /// Black or white: even or odd frames.
    Blink,
    /// The ball.
    Ball,
}

/// Per-frame state of a painter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameState {
    /// The frame number.
    pub(crate) n: u64,
    /// Noise generator, at the first draw of the frame.
    pub(crate) rng: Lcg,
    /// Ball centre.
    pub(crate) ball: (f64, f64),
}

/// The rows of the SMPTE pattern: bars above `y1`, reversed bars from `y1` to `y2`, the
/// -I/white/+Q and PLUGE rows from `y2` on.
pub(crate) fn smpte_rows(height: usize) -> (usize, usize) {
    (height * 2 / 3, height * 3 / 4)
}

/// Where the noise of the SMPTE pattern's bottom rows starts.
pub(crate) fn smpte_noise_x(width: usize) -> usize {
    width * 3 / 4
}

/// `i * w / d` without overflow.
fn part(i: usize, w: usize, d: usize) -> usize {
    (i as u128 * w as u128 / d as u128) as usize
}

fn fill(row: &mut [Px], x1: usize, x2: usize, c: Px) {
    let x2 = x2.min(row.len());
    if x1 < x2 {
        row[x1..x2].fill(c);
    }
}

/// Paints bars `colors[i]` over `[i * w / 7, (i + 1) * w / 7)`.
fn bars(row: &mut [Px], colors: &[Px; 7]) {
    let w = row.len();
    for (i, c) in colors.iter().enumerate() {
        fill(row, part(i, w, 7), part(i + 1, w, 7), *c);
    }
}

/// The ball's centre in frame `n` ("wavy" motion): a Lissajous figure with periods of
/// 200 and 200/sqrt(2) frames, keeping the ball's centre `BALL_RADIUS` from the edges.
pub(crate) fn ball_center(n: u64, width: usize, height: usize) -> (f64, f64) {
    let t = n as f64;
    let pi = std::f64::consts::PI;
    let span_x = width as f64 - 2.0 * BALL_RADIUS;
    let span_y = height as f64 - 2.0 * BALL_RADIUS;
    // The expressions are evaluated in this order on purpose: the position is computed
    // in doubles and the low bits matter for which pixels get which coverage.
    let x = BALL_RADIUS + (0.5 + 0.5 * (2.0 * pi * t / 200.0).sin()) * span_x;
    let y = BALL_RADIUS
        + (0.5 + 0.5 * (2.0 * pi * std::f64::consts::SQRT_2 * t / 200.0).sin()) * span_y;
    (x, y)
}

/// The rows `[first, last]` the ball may touch, clipped to the frame; `None` when it
/// touches none.
pub(crate) fn ball_rows(center: (f64, f64), height: usize) -> Option<(usize, usize)> {
    let (_, y) = center;
    let first = (y - BALL_RADIUS).ceil().max(0.0);
    let last = (y + BALL_RADIUS).floor();
    if first > last || last < 0.0 || first >= height as f64 {
        return None;
    }
    Some((first as usize, (last as usize).min(height - 1)))
}

/// Paints row `y` of the ball (coverage of the foreground over the background).
fn ball_row(row: &mut [Px], y: usize, center: (f64, f64), palette: &Palette) {
    let (cx, cy) = center;
    let w = row.len();
    let fy = y as f64;
    row.fill(palette.bg);
    if fy < cy - BALL_RADIUS || fy > cy + BALL_RADIUS {
        return;
    }
    let dy = fy - cy;
    // Half-width of the span to shade, rounded half to even.
    let half = (BALL_RADIUS * BALL_RADIUS - dy * dy)
        .sqrt()
        .round_ties_even();
    // Span ends, computed in doubles and truncated like a C double-to-int conversion.
    let x1 = (cx - half).max(0.0) as i64;
    let x2 = (cx + half + 1.0).min(w as f64) as i64;
    for x in x1.max(0)..x2.max(0) {
        let dx = x as f64 - cx;
        let rr = (BALL_RADIUS - (dx * dx + dy * dy).sqrt()) * 0.5;
        let alpha = (256.0 * rr).floor().clamp(0.0, 255.0) as u8;
        row[x as usize] = blend(palette.fg, palette.bg, alpha);
    }
}

impl Painter {
    /// Paints row `y` of a `height`-row frame into `row` (the frame's width).
    ///
    /// `row` keeps what the previous row left in it: the SMPTE pattern's bottom rows
    /// do not paint every pixel (where the PLUGE ends before the noise starts), and
    /// GStreamer leaves the previous row's pixels there. Noise draws come from `rng`, in
    /// row order.
    pub(crate) fn paint(
        &self,
        palette: &Palette,
        y: usize,
        height: usize,
        state: &mut FrameState,
        row: &mut [Px],
    ) {
        let w = row.len();
        match self {
            Painter::Solid(c) => row.fill(*c),
            Painter::Bars(colors) => bars(row, colors),
            Painter::Checkers(size) => {
                let (red, green) = (palette.get(Named::Red), palette.get(Named::Green));
                let row_parity = (y / size) & 1;
                for (x, px) in row.iter_mut().enumerate() {
                    *px = if ((x / size) & 1) ^ row_parity == 0 {
                        red
                    } else {
                        green
                    };
                }
            }
            Painter::Bar => {
                let x1 = w / 7;
                row[..x1].fill(palette.fg);
                row[x1..].fill(palette.bg);
            }
            Painter::Blink => {
                row.fill(palette.get(if state.n & 1 == 0 {
                    Named::Black
                } else {
                    Named::White
                }));
            }
            Painter::Snow => {
                for px in row.iter_mut() {
                    *px = palette.gray[usize::from(state.rng.next_byte())];
                }
            }
            Painter::Ball => ball_row(row, y, state.ball, palette),
            Painter::Smpte => {
                let (y1, y2) = smpte_rows(height);
                if y < y1 {
                    bars(row, &palette.bars100());
                } else if y < y2 {
                    use Named::{Black, Blue, Cyan, Magenta, White};
                    let reverse = [Blue, Black, Magenta, Black, Cyan, Black, White];
                    bars(row, &reverse.map(|c| palette.get(c)));
                } else {
                    use Named::{Black, DarkGrey, NegI, PosQ, SuperBlack, White};
                    for (i, c) in [NegI, White, PosQ].into_iter().enumerate() {
                        fill(row, part(i, w, 6), part(i + 1, w, 6), palette.get(c));
                    }
                    for (i, c) in [SuperBlack, Black, DarkGrey].into_iter().enumerate() {
                        let x1 = w / 2 + part(i, w, 12);
                        let x2 = w / 2 + part(i + 1, w, 12);
                        fill(row, x1, x2, palette.get(c));
                    }
                    for px in &mut row[smpte_noise_x(w)..] {
                        *px = palette.gray[usize::from(state.rng.next_byte())];
                    }
                }
            }
        }
    }
}
