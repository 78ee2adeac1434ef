//! # penstock-video — the video library of penstock
//!
//! What the core crate (`penstock`) leaves out: everything that knows what a video frame
//! is. Formats and frame layouts, the metas that describe them, the pool configuration
//! that lays buffers out as frames ([`pool`]), the step that re-lays frames out for a
//! consumer that cannot read a padded layout ([`relayout`]), the convert and crop
//! kernels ([`convert`], [`crop`]), the test-pattern renderer ([`testsrc`]), DMA_DRM caps and the DMA-BUF modifier
//! negotiation ([`negotiate`]).
//!
//! [`VideoFormat`] names the raw pixel formats penstock understands (with GStreamer's
//! names and the matching DRM fourccs) and describes where each component lives.
//! [`VideoInfo`] is the memory layout of one frame: plane offsets, strides and the frame
//! size, and the frame's [`Colorimetry`] (matrix, range, transfer, primaries, chroma
//! siting; [`colorimetry`]). [`VideoFormat::plane_size`] is the one plane-geometry
//! computation (subsampled plane width and height, row bytes) everything shares.
//! [`VideoInfo::new`] computes exactly the layout GStreamer uses by default, so raw
//! frames are interchangeable with GStreamer's; [`VideoInfo::align`] adds padding and
//! stride alignment the way `gst_video_info_align` does; and [`VideoInfo::with_layout`]
//! validates an explicit layout such as a video meta carries.
//!
//! The core's `penstock::drm` names DMA-BUF formats (fourcc + modifier), and [`dma_drm`] reads and writes
//! GStreamer 1.24's `format=DMA_DRM` caps ([`VideoInfoDmaDrm`]); LINEAR ones have the
//! CPU layout of the equivalent [`VideoFormat`].
//!
//! ```
//! use penstock_video::{VideoAlignment, VideoFormat, VideoInfo};
//!
//! let info = VideoInfo::new(VideoFormat::I420, 320, 240)?;
//! assert_eq!(info.size(), 115_200);
//! assert_eq!(info.offsets(), [0, 76_800, 96_000, 0]);
//!
//! let mut padded = info.clone();
//! padded.align(&VideoAlignment { stride_align: [63; 4], ..Default::default() })?;
//! assert!(padded.strides()[..3].iter().all(|s| s % 64 == 0));
//! # Ok::<(), penstock_video::VideoError>(())
//! ```

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod colorimetry;
pub mod convert;
pub mod crop;
pub mod dma_drm;
mod format;
pub mod frame;
mod info;
pub mod meta;
pub mod negotiate;
pub mod pool;
pub mod relayout;
#[cfg(test)]
mod tests;
pub mod testsrc;

pub use colorimetry::{ChromaSite, ColorMatrix, ColorRange, Colorimetry, ColorimetryError};
pub use dma_drm::{DmaDrmError, VideoInfoDmaDrm};
pub use format::{PlaneSize, VideoFormat, linear_drm_formats};
pub use info::{VideoAlignment, VideoInfo};
pub use meta::{VideoCropMeta, VideoMeta};
pub use pool::{VideoBufferPoolExt, VideoLayout, VideoPoolConfigExt, VideoQueryExt};

/// The most planes a frame of any format has.
pub const MAX_PLANES: usize = 4;

/// Errors from parsing formats and computing or validating frame layouts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// A format name that is not one of [`VideoFormat::ALL`]'s names.
    #[error(
        "unknown video format {name:?}: expected one of {} (names are case-sensitive, as in GStreamer caps)",
        VideoFormat::valid_names()
    )]
    UnknownFormat {
        /// The name that was given.
        name: String,
    },
    /// A width or height of 0 or above `i32::MAX`.
    #[error("invalid dimensions {width}x{height} for {format}: {reason}")]
    InvalidDimensions {
        /// The format of the frame.
        format: VideoFormat,
        /// The width that was given.
        width: u32,
        /// The height that was given.
        height: u32,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// The frame's strides, offsets or size do not fit the address space (or a stride
    /// does not fit GStreamer's 32-bit signed stride).
    #[error(
        "{format} frame of {width}x{height} is too large: {what} overflows; use smaller dimensions"
    )]
    TooLarge {
        /// The format of the frame.
        format: VideoFormat,
        /// The (possibly padded) width whose layout overflowed.
        width: u64,
        /// The (possibly padded) height whose layout overflowed.
        height: u64,
        /// Which quantity overflowed.
        what: &'static str,
    },
    /// An explicit layout (offsets, strides, size) that cannot hold the frame.
    #[error("invalid layout for {format} {width}x{height}: {reason}")]
    InvalidLayout {
        /// The format of the frame.
        format: VideoFormat,
        /// The frame width.
        width: u32,
        /// The frame height.
        height: u32,
        /// What is wrong, with the numbers involved.
        reason: String,
    },
    /// Padding or stride alignment that cannot be applied to the frame.
    #[error("invalid alignment for {format} {width}x{height}: {reason}")]
    InvalidAlignment {
        /// The format of the frame.
        format: VideoFormat,
        /// The frame width.
        width: u32,
        /// The frame height.
        height: u32,
        /// What is wrong, with the numbers involved.
        reason: String,
    },
    /// DMA_DRM caps that are invalid or describe buffers without a CPU layout (a
    /// modifier other than LINEAR).
    #[error(transparent)]
    DmaDrm(Box<DmaDrmError>),
    /// A caps `colorimetry` or `chroma-site` field that cannot be read.
    #[error(transparent)]
    Colorimetry(#[from] ColorimetryError),
}
