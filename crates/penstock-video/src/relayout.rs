//! Re-laying frames out for a consumer that cannot read the producer's layout.
//!
//! A consumer that does not state [`VideoMeta`] in the allocation query reads frames in
//! the default layout of the caps. A source whose frames carry another one (a driver's
//! fixed stride, a padded pool) returns [`relayout_adapter`] from its
//! [`PushSource::output_adapter`](penstock::basesrc::PushSource::output_adapter), and the
//! base source copies each such frame into the default layout before pushing it
//! (ledger: `alignment`). Frames already in the default layout go through untouched.

use std::sync::Arc;

use penstock::allocator::{AllocationParams, Allocator};
use penstock::basesrc::BufferAdapter;
use penstock::buffer::Buffer;
use penstock::caps::Caps;
use penstock::element::{Element, ElementError};
use penstock::flow::FlowError;
use penstock::pool::{AcquireParams, BufferPool, PoolConfig};
use penstock::query::AllocationQuery;

use crate::frame;
use crate::{VideoInfo, VideoMeta, VideoPoolConfigExt};

/// Copies frames whose [`VideoMeta`] is not the default layout of `info` into buffers of
/// that layout.
pub struct Relayout {
    info: VideoInfo,
    pool: BufferPool,
}

impl Relayout {
    /// Frames of `info` re-laid into buffers from `pool` (configured for `info`).
    pub fn new(info: VideoInfo, pool: BufferPool) -> Relayout {
        Relayout { info, pool }
    }
}

impl BufferAdapter for Relayout {
    /// The buffer as downstream can read it: itself when its layout is the default one
    /// (or it has no VideoMeta), else a copy in the default layout (ledger: alignment).
    fn apply(&self, buffer: Buffer) -> Result<Buffer, FlowError> {
        let Some(meta) = buffer.meta::<VideoMeta>() else {
            return Ok(buffer);
        };
        if frame::meta_matches(meta, &self.info) {
            return Ok(buffer);
        }
        let mut out = self
            .pool
            .acquire(AcquireParams::default())
            .map_err(|_| FlowError::Flushing)?;
        frame::copy_to_layout(&buffer, meta, &self.info, &mut out).map_err(|_| FlowError::Error)?;
        out.set_pts(buffer.pts());
        out.set_dts(buffer.dts());
        out.set_duration(buffer.duration());
        out.set_offset(buffer.offset());
        out.set_offset_end(buffer.offset_end());
        out.set_flags(buffer.flags());
        Ok(out.freeze())
    }
}

/// The relayout step a video source needs for `caps` and downstream's answer `query`:
/// `None` when downstream reads [`VideoMeta`] (any layout) or the caps are not raw
/// video with a CPU layout; else a [`Relayout`] whose copies come from `target` (system
/// memory when `None`).
///
/// # Errors
/// [`ElementError`] if the pool for the copies cannot be set up.
pub fn relayout_adapter(
    element: &Element,
    caps: &Caps,
    query: &AllocationQuery,
    target: Option<(Arc<dyn Allocator>, AllocationParams)>,
) -> Result<Option<Box<dyn BufferAdapter>>, ElementError> {
    if query.has_meta::<VideoMeta>() {
        return Ok(None);
    }
    let Some(Ok(info)) = frame::info_from_caps(caps) else {
        return Ok(None);
    };
    let mut config = PoolConfig::video(info.clone());
    if let Some((allocator, params)) = target {
        config = config.allocator(allocator, params);
    }
    let pool = BufferPool::new(format!("{}-relayout", element.name()));
    pool.set_config(config)
        .and_then(|_| pool.set_active(true))
        .map_err(|e| ElementError::new(e.to_string()))?;
    Ok(Some(Box::new(Relayout::new(info, pool))))
}
