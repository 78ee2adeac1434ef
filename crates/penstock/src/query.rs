//! Queries: questions a pad asks its peer — caps, accept-caps, allocation, drain.
//!
//! The **allocation query** is how zero-copy is negotiated. After caps are fixed, the
//! upstream element sends it with the caps; downstream answers with the pools it could
//! provide (pool, size, min, max), the allocators it prefers with their params, the
//! metas it understands (a consumer that understands `VideoMeta` accepts padded strides,
//! one that understands `VideoCropMeta` accepts crop-by-meta), and the alignment it
//! needs. Upstream decides: it takes a proposed pool or makes its own, configures it
//! and allocates from it. A tee merges its branches' answers with [`AllocationQuery::merge`].

use std::sync::Arc;

use crate::allocator::{AllocationParams, Allocator};
use crate::caps::Caps;
use crate::pool::BufferPool;
use crate::video::VideoAlignment;

/// A pool downstream proposes (or just the size and counts it needs).
#[derive(Debug, Clone)]
pub struct PoolProposal {
    /// The pool, or `None` to only state size and counts.
    pub pool: Option<BufferPool>,
    /// Bytes per buffer.
    pub size: usize,
    /// Buffers downstream may hold at once (upstream needs at least this many).
    pub min: u32,
    /// Most buffers (0 = unlimited).
    pub max: u32,
}

/// An allocator downstream prefers, with its params.
#[derive(Debug, Clone)]
pub struct AllocatorProposal {
    /// The allocator (`None`: system memory with these params).
    pub allocator: Option<Arc<dyn Allocator>>,
    /// Alignment, prefix and padding downstream needs.
    pub params: AllocationParams,
}

/// A meta downstream understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaProposal {
    /// The meta's API name (`"VideoMeta"`, `"VideoCropMeta"`).
    pub api: &'static str,
    /// For `VideoMeta`: the padding and stride alignment downstream wants.
    pub alignment: Option<VideoAlignment>,
}

/// The allocation query.
#[derive(Debug, Clone)]
pub struct AllocationQuery {
    /// The negotiated caps the buffers will carry.
    pub caps: Caps,
    /// Upstream wants a pool proposal.
    pub need_pool: bool,
    /// Pool proposals, preferred first.
    pub pools: Vec<PoolProposal>,
    /// Allocator proposals, preferred first.
    pub allocators: Vec<AllocatorProposal>,
    /// Metas downstream understands.
    pub metas: Vec<MetaProposal>,
}

impl AllocationQuery {
    /// A query for `caps`.
    pub fn new(caps: Caps, need_pool: bool) -> Self {
        AllocationQuery {
            caps,
            need_pool,
            pools: Vec::new(),
            allocators: Vec::new(),
            metas: Vec::new(),
        }
    }

    /// Adds a pool proposal.
    pub fn add_pool(&mut self, pool: Option<BufferPool>, size: usize, min: u32, max: u32) {
        self.pools.push(PoolProposal {
            pool,
            size,
            min,
            max,
        });
    }

    /// Adds an allocator proposal.
    pub fn add_allocator(
        &mut self,
        allocator: Option<Arc<dyn Allocator>>,
        params: AllocationParams,
    ) {
        self.allocators
            .push(AllocatorProposal { allocator, params });
    }

    /// States that downstream understands the meta `api`.
    pub fn add_meta(&mut self, api: &'static str, alignment: Option<VideoAlignment>) {
        if !self.has_meta(api) {
            self.metas.push(MetaProposal { api, alignment });
        }
    }

    /// True if downstream understands the meta `api`.
    pub fn has_meta(&self, api: &str) -> bool {
        self.metas.iter().any(|m| m.api == api)
    }

    /// The alignment downstream asked for with `VideoMeta`, if any.
    pub fn video_alignment(&self) -> Option<VideoAlignment> {
        self.metas
            .iter()
            .find(|m| m.api == "VideoMeta")
            .and_then(|m| m.alignment)
    }

    /// The params of the first allocator proposal (default params if none).
    pub fn params(&self) -> AllocationParams {
        self.allocators
            .first()
            .map(|a| a.params)
            .unwrap_or_default()
    }

    /// The first proposed allocator of `memory_type` that `accept` takes, with its params.
    pub fn allocator_of(
        &self,
        memory_type: &str,
        accept: impl Fn(&dyn Allocator) -> bool,
    ) -> Option<(Arc<dyn Allocator>, AllocationParams)> {
        self.allocators.iter().find_map(|a| {
            a.allocator
                .as_ref()
                .filter(|al| al.memory_type() == memory_type && accept(al.as_ref()))
                .map(|al| (Arc::clone(al), a.params))
        })
    }

    /// Merges the answers of a tee's branches into `self` (which carries the caps):
    /// no shared pool (one pool cannot serve several downstream pools), size and min
    /// the largest of the branches, max the smallest non-zero one; allocator params
    /// merged to the strictest (alignment, prefix, padding); only the metas every
    /// branch understands, with the union of their alignment needs.
    pub fn merge(&mut self, branches: &[AllocationQuery]) {
        let mut size = 0;
        let mut min = 0;
        let mut max = 0u32;
        let mut any_pool = false;
        for b in branches {
            for p in &b.pools {
                any_pool = true;
                size = size.max(p.size);
                min = min.max(p.min);
                if p.max != 0 {
                    max = if max == 0 { p.max } else { max.min(p.max) };
                }
            }
        }
        self.pools.clear();
        if any_pool {
            if max != 0 && max < min {
                max = min;
            }
            self.add_pool(None, size, min, max);
        }
        let mut params: Option<AllocationParams> = None;
        for b in branches {
            for a in &b.allocators {
                params = Some(match params {
                    None => a.params,
                    Some(p) => p.merge(&a.params),
                });
            }
        }
        self.allocators.clear();
        if let Some(p) = params {
            self.add_allocator(None, p);
        }
        self.metas.clear();
        if let Some((first, rest)) = branches.split_first() {
            for m in &first.metas {
                if rest.iter().all(|b| b.has_meta(m.api)) {
                    let mut alignment = m.alignment;
                    for b in rest {
                        let other = b
                            .metas
                            .iter()
                            .find(|o| o.api == m.api)
                            .and_then(|o| o.alignment);
                        alignment = merge_alignment(alignment, other);
                    }
                    self.metas.push(MetaProposal {
                        api: m.api,
                        alignment,
                    });
                }
            }
        }
    }
}

fn merge_alignment(a: Option<VideoAlignment>, b: Option<VideoAlignment>) -> Option<VideoAlignment> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => {
            let mut out = VideoAlignment {
                padding_top: a.padding_top.max(b.padding_top),
                padding_bottom: a.padding_bottom.max(b.padding_bottom),
                padding_left: a.padding_left.max(b.padding_left),
                padding_right: a.padding_right.max(b.padding_right),
                stride_align: [0; 4],
            };
            for i in 0..4 {
                out.stride_align[i] = a.stride_align[i] | b.stride_align[i];
            }
            Some(out)
        }
    }
}

/// The caps query: what can the peer handle (optionally within `filter`)?
#[derive(Debug, Clone, PartialEq)]
pub struct CapsQuery {
    /// Only caps compatible with this are of interest.
    pub filter: Option<Caps>,
    /// The answer.
    pub result: Option<Caps>,
}

/// A query.
#[derive(Debug, Clone)]
pub enum Query {
    /// What caps can you handle?
    Caps(CapsQuery),
    /// Would you accept these caps? (the answer goes in `result`)
    AcceptCaps {
        /// The caps.
        caps: Caps,
        /// The answer.
        result: bool,
    },
    /// How should buffers be allocated?
    Allocation(AllocationQuery),
    /// Release or return every buffer you hold (before a pool or device stops).
    Drain,
}

impl Query {
    /// The query's name.
    pub fn name(&self) -> &'static str {
        match self {
            Query::Caps(_) => "caps",
            Query::AcceptCaps { .. } => "accept-caps",
            Query::Allocation(_) => "allocation",
            Query::Drain => "drain",
        }
    }
}
