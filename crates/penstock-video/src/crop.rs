//! The crop kernel: copies a rectangle of a raw video frame into a frame of its own,
//! byte for byte as GStreamer 1.22's `videocrop` does when it must copy.
//!
//! [`Crop`] says how many pixels go at each side and gives the output frame
//! ([`Crop::apply`]); [`crop_copy`] copies. For subsampled formats the bytes are
//! GStreamer's, rounding included: chroma planes of I420/YV12/NV12/NV21 start at chroma
//! sample `left / 2`, row `top / 2` (rounded down), and for YUY2/UYVY an odd `left` moves
//! the luma samples one pixel left but keeps the chroma of the macro-pixel at
//! `left - 1`, except for the last luma sample of each row, which GStreamer does not
//! move (it would read past its source window).

use crate::{VideoFormat, VideoInfo};

/// The four sides, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Crop {
    /// Pixels removed at the left.
    pub left: u32,
    /// Pixels removed at the right.
    pub right: u32,
    /// Rows removed at the top.
    pub top: u32,
    /// Rows removed at the bottom.
    pub bottom: u32,
}

impl Crop {
    /// True if nothing is cropped.
    pub fn is_empty(&self) -> bool {
        *self == Crop::default()
    }

    /// The output frame for an input frame `input`.
    ///
    /// # Errors
    /// [`CropError::TooLarge`] when the crop leaves no pixel, naming the sizes.
    pub fn apply(&self, input: &VideoInfo) -> Result<VideoInfo, CropError> {
        let too_large = || CropError::TooLarge {
            crop: *self,
            width: input.width(),
            height: input.height(),
        };
        let width = input
            .width()
            .checked_sub(self.left)
            .and_then(|w| w.checked_sub(self.right))
            .filter(|&w| w > 0)
            .ok_or_else(too_large)?;
        let height = input
            .height()
            .checked_sub(self.top)
            .and_then(|h| h.checked_sub(self.bottom))
            .filter(|&h| h > 0)
            .ok_or_else(too_large)?;
        VideoInfo::new(input.format(), width, height).map_err(|e| CropError::Layout(e.to_string()))
    }
}

/// Why a frame could not be cropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CropError {
    /// The crop is at least as large as the frame.
    #[error(
        "cannot crop left={} right={} top={} bottom={} from a {width}x{height} frame: \
         at least one pixel must remain (left + right < {width}, top + bottom < {height})",
        crop.left, crop.right, crop.top, crop.bottom
    )]
    TooLarge {
        /// The crop asked for.
        crop: Crop,
        /// Input width.
        width: u32,
        /// Input height.
        height: u32,
    },
    /// The input buffer is smaller than its layout says.
    #[error(
        "input frame too small: plane {plane} needs bytes up to {needed}, the buffer has {size}"
    )]
    ShortInput {
        /// The plane.
        plane: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes there.
        size: usize,
    },
    /// The output frame is smaller than its layout says.
    #[error("output frame too small: plane {plane} needs bytes up to {needed}, it has {size}")]
    ShortOutput {
        /// The plane.
        plane: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes there.
        size: usize,
    },
    /// The crop rectangle (after an upstream crop meta's offset) leaves the frame.
    #[error(
        "crop rectangle {width}x{height} at ({x}, {y}) lies outside the \
         {frame_width}x{frame_height} frame of the buffer"
    )]
    OutsideFrame {
        /// Left edge in the buffer's frame.
        x: u64,
        /// Top edge in the buffer's frame.
        y: u64,
        /// Output width.
        width: u32,
        /// Output height.
        height: u32,
        /// The buffer's frame width.
        frame_width: u32,
        /// The buffer's frame height.
        frame_height: u32,
    },
    /// The output layout could not be computed.
    #[error("{0}")]
    Layout(String),
}

/// Copies the rectangle at (`left`, `top`) of the output's size out of `src` (a frame
/// of `out.format()` laid out with `offsets`/`strides`) into `dst` in `out`'s layout,
/// byte for byte as GStreamer 1.22's `videocrop` does (see the [module docs](self)). Returns the
/// bytes written.
///
/// # Errors
/// [`CropError::ShortInput`]/[`CropError::ShortOutput`] when a buffer is too small.
pub fn crop_copy(
    src: &[u8],
    offsets: &[usize],
    strides: &[usize],
    left: u32,
    top: u32,
    out: &VideoInfo,
    dst: &mut [u8],
) -> Result<usize, CropError> {
    let format = out.format();
    let mut written = 0;
    for plane in 0..out.n_planes() {
        let comp = format.plane_components(plane).next().unwrap_or(0);
        let (wsub, hsub) = format.subsampling(comp);
        let packed_422 = matches!(format, VideoFormat::Yuy2 | VideoFormat::Uyvy);
        // Packed 4:2:2 starts at a whole macro-pixel; other formats at the chroma
        // sample covering (left, top), rounded down.
        let (x_bytes, y_rows) = if packed_422 {
            ((left & !1) as usize * 2, top as usize)
        } else {
            (
                (left >> wsub) as usize * format.pixel_stride(comp),
                (top >> hsub) as usize,
            )
        };
        let row_bytes = out.plane_row_bytes(plane);
        let out_stride = out.stride(plane);
        for row in 0..out.plane_height(plane) as usize {
            // Checked: offsets and strides may come from a buffer's meta.
            let s = (y_rows + row)
                .checked_mul(strides[plane])
                .and_then(|b| b.checked_add(offsets[plane]))
                .and_then(|b| b.checked_add(x_bytes));
            let from = s
                .and_then(|s| src.get(s..s.checked_add(row_bytes)?))
                .ok_or(CropError::ShortInput {
                    plane,
                    needed: s.map_or(usize::MAX, |s| s.saturating_add(row_bytes)),
                    size: src.len(),
                })?;
            let d = out.offset(plane) + row * out_stride;
            let dst_len = dst.len();
            let to = dst
                .get_mut(d..d + row_bytes)
                .ok_or(CropError::ShortOutput {
                    plane,
                    needed: d + row_bytes,
                    size: dst_len,
                })?;
            to.copy_from_slice(from);
            if packed_422 && left % 2 == 1 {
                // GStreamer: luma samples move one pixel left; the loop stops two bytes
                // before the row's stride, so the last luma sample stays.
                let y_off = usize::from(format == VideoFormat::Uyvy);
                let end = out_stride
                    .saturating_sub(2)
                    .min(row_bytes.saturating_sub(2));
                for j in (y_off..end).step_by(2) {
                    to[j] = from[j + 2];
                }
            }
            written += row_bytes;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_larger_than_the_frame_names_the_sizes() {
        let info = VideoInfo::new(VideoFormat::I420, 16, 8).unwrap();
        let c = Crop {
            left: 10,
            right: 6,
            ..Crop::default()
        };
        let e = c.apply(&info).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("16x8") && text.contains("left=10") && text.contains("right=6"),
            "{text}"
        );
        let ok = Crop {
            left: 10,
            right: 5,
            top: 7,
            bottom: 0,
        }
        .apply(&info)
        .unwrap();
        assert_eq!((ok.width(), ok.height()), (1, 1));
    }

    #[test]
    fn planar_chroma_rounds_left_and_top_down() {
        // I420 8x4: Y = 10*row + col, U = 100 + 10*row + col, V = 200 + ...
        let input = VideoInfo::new(VideoFormat::I420, 8, 4).unwrap();
        let mut src = vec![0u8; input.size()];
        for p in 0..3 {
            let base = [0u8, 100, 200][p];
            for r in 0..input.plane_height(p) as usize {
                for c in 0..input.plane_row_bytes(p) {
                    src[input.offset(p) + r * input.stride(p) + c] = base + (10 * r + c) as u8;
                }
            }
        }
        let out = VideoInfo::new(VideoFormat::I420, 5, 1).unwrap();
        let mut dst = vec![0u8; out.size()];
        let n = crop_copy(
            &src,
            &input.offsets(),
            &input.strides(),
            3,
            3,
            &out,
            &mut dst,
        )
        .unwrap();
        assert_eq!(n, 5 + 3 + 3);
        assert_eq!(&dst[..5], &[33, 34, 35, 36, 37]);
        // Chroma row 3/2 = 1, column 3/2 = 1.
        assert_eq!(&dst[out.offset(1)..out.offset(1) + 3], &[111, 112, 113]);
        assert_eq!(&dst[out.offset(2)..out.offset(2) + 3], &[211, 212, 213]);
    }

    #[test]
    fn yuy2_odd_left_moves_luma_but_not_the_last_sample() {
        // One row of YUY2, 8 pixels: Y = 0..8 at even bytes, chroma 100+ at odd bytes.
        let input = VideoInfo::new(VideoFormat::Yuy2, 8, 1).unwrap();
        let src: Vec<u8> = (0..16u8)
            .map(|i| if i % 2 == 0 { i / 2 } else { 100 + i })
            .collect();
        let out = VideoInfo::new(VideoFormat::Yuy2, 4, 1).unwrap();
        let mut dst = vec![0u8; out.size()];
        crop_copy(
            &src,
            &input.offsets(),
            &input.strides(),
            3,
            0,
            &out,
            &mut dst,
        )
        .unwrap();
        // Starts at macro-pixel 2 (pixel 2); luma shifted one pixel: 3, 4, 5, then the
        // last one unshifted (5 again, GStreamer's loop bound).
        assert_eq!(dst, [3, 105, 4, 107, 5, 109, 5, 111]);
    }

    #[test]
    fn huge_offsets_are_an_error_not_a_panic() {
        let out = VideoInfo::new(VideoFormat::Gray8, 4, 4).unwrap();
        let mut dst = vec![0u8; out.size()];
        let e = crop_copy(
            &[0u8; 64],
            &[usize::MAX - 2],
            &[usize::MAX / 2],
            1,
            1,
            &out,
            &mut dst,
        )
        .unwrap_err();
        assert!(matches!(e, CropError::ShortInput { plane: 0, .. }), "{e}");
    }

    #[test]
    fn short_input_is_an_error_not_a_panic() {
        let out = VideoInfo::new(VideoFormat::Rgb, 4, 4).unwrap();
        let mut dst = vec![0u8; out.size()];
        let e = crop_copy(&[0u8; 10], &[0], &[12], 0, 0, &out, &mut dst).unwrap_err();
        assert!(matches!(e, CropError::ShortInput { plane: 0, .. }), "{e}");
    }
}
