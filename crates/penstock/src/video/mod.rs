//! Video formats and layouts. (Temporary stand-in; replaced by the full module.)
#![allow(missing_docs)]
pub const MAX_PLANES: usize = 4;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VideoFormat {
    I420,
    Nv12,
    Gray8,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VideoAlignment {
    pub padding_top: u32,
    pub padding_bottom: u32,
    pub padding_left: u32,
    pub padding_right: u32,
    pub stride_align: [u32; MAX_PLANES],
}
#[derive(Debug, thiserror::Error)]
#[error("video")]
pub struct VideoError;
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VideoInfo {
    format: VideoFormat,
    width: u32,
    height: u32,
    size: usize,
    offset: [usize; 4],
    stride: [usize; 4],
}
impl VideoInfo {
    pub fn new(format: VideoFormat, width: u32, height: u32) -> Result<VideoInfo, VideoError> {
        let w = width as usize;
        let h = height as usize;
        let s0 = (w + 3) & !3;
        let (n, offset, stride, size) = match format {
            VideoFormat::Nv12 => (
                2,
                [0, s0 * ((h + 1) & !1), 0, 0],
                [s0, s0, 0, 0],
                s0 * ((h + 1) & !1) * 3 / 2,
            ),
            VideoFormat::Gray8 => (1, [0; 4], [s0, 0, 0, 0], s0 * h),
            VideoFormat::I420 => {
                let s1 = (((w + 1) & !1) / 2 + 3) & !3;
                let o1 = s0 * ((h + 1) & !1);
                let ch = ((h + 1) & !1) / 2;
                (
                    3,
                    [0, o1, o1 + s1 * ch, 0],
                    [s0, s1, s1, 0],
                    o1 + 2 * s1 * ch,
                )
            }
        };
        let _ = n;
        Ok(VideoInfo {
            format,
            width,
            height,
            size,
            offset,
            stride,
        })
    }
    pub fn format(&self) -> VideoFormat {
        self.format
    }
    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn size(&self) -> usize {
        self.size
    }
    pub fn n_planes(&self) -> usize {
        match self.format {
            VideoFormat::Nv12 => 2,
            VideoFormat::I420 => 3,
            VideoFormat::Gray8 => 1,
        }
    }
    pub fn offsets(&self) -> [usize; MAX_PLANES] {
        self.offset
    }
    pub fn strides(&self) -> [usize; MAX_PLANES] {
        self.stride
    }
    pub fn offset(&self, p: usize) -> usize {
        self.offset[p]
    }
    pub fn stride(&self, p: usize) -> usize {
        self.stride[p]
    }
    pub fn align(&mut self, a: &VideoAlignment) -> Result<(), VideoError> {
        let mut pw = self.width + a.padding_left + a.padding_right;
        let ph = self.height + a.padding_top + a.padding_bottom;
        loop {
            let i = VideoInfo::new(self.format, pw, ph)?;
            if (0..self.n_planes()).all(|p| i.stride[p] & a.stride_align[p] as usize == 0) {
                self.size = i.size;
                self.stride = i.stride;
                self.offset = i.offset;
                break;
            }
            pw += pw & pw.wrapping_neg();
        }
        Ok(())
    }
}
