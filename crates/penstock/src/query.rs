//! Queries: questions a pad asks its peer — caps, accept-caps, allocation, drain.
//!
//! The **allocation query** is how zero-copy is negotiated. After caps are fixed, the
//! upstream element sends it with the caps; downstream answers with the pools it could
//! provide (pool, size, min, max), the allocators it prefers with their params, the
//! metas it understands, each with parameters of its own (a video consumer that
//! understands a layout meta accepts padded strides and says which alignment it needs;
//! one that understands a crop meta accepts crop-by-meta). Upstream decides: it takes a proposed pool or makes its own, configures it
//! and allocates from it. A tee merges its branches' answers with [`AllocationQuery::merge`].

use std::sync::Arc;

use crate::allocator::{AllocationParams, Allocator};
use crate::caps::Caps;
use crate::memory::MemoryType;
use crate::meta::{Meta, MetaApi, MetaParams};
use crate::pool::BufferPool;

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

/// A meta downstream understands, with the parameters it asks for (a video layout meta:
/// the padding and stride alignment downstream wants).
#[derive(Debug, Clone)]
pub struct MetaProposal {
    /// The meta's type.
    pub api: MetaApi,
    /// What downstream asks of buffers carrying it, if anything.
    pub params: Option<Arc<dyn MetaParams>>,
}

impl PartialEq for MetaProposal {
    fn eq(&self, o: &Self) -> bool {
        self.api == o.api
            && match (&self.params, &o.params) {
                (None, None) => true,
                (Some(a), Some(b)) => a.same(b.as_ref()),
                _ => false,
            }
    }
}

impl MetaProposal {
    /// The parameters, as the type `P` that the meta's crate gives them.
    pub fn params<P: MetaParams>(&self) -> Option<&P> {
        let any: &dyn std::any::Any = self.params.as_deref()?;
        any.downcast_ref::<P>()
    }
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

    /// States that downstream understands the meta `M`, asking `params` of it.
    pub fn add_meta<M: Meta>(&mut self, params: Option<Arc<dyn MetaParams>>) {
        self.add_meta_api(MetaApi::of::<M>(), params);
    }

    /// States that downstream understands the meta `api` (the first statement of an
    /// api counts).
    pub fn add_meta_api(&mut self, api: MetaApi, params: Option<Arc<dyn MetaParams>>) {
        if !self.has_meta_api(api) {
            self.metas.push(MetaProposal { api, params });
        }
    }

    /// True if downstream understands the meta `M`.
    pub fn has_meta<M: Meta>(&self) -> bool {
        self.has_meta_api(MetaApi::of::<M>())
    }

    /// True if downstream understands the meta `api`.
    pub fn has_meta_api(&self, api: MetaApi) -> bool {
        self.metas.iter().any(|m| m.api == api)
    }

    /// The parameters downstream gave with the meta `M`, as type `P`.
    pub fn meta_params<M: Meta, P: MetaParams>(&self) -> Option<&P> {
        let api = MetaApi::of::<M>();
        self.metas.iter().find(|m| m.api == api)?.params::<P>()
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
        memory_type: MemoryType,
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
    /// branch understands, with their parameters merged ([`MetaParams::merge`]: for a
    /// video layout meta the union of the alignment needs).
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
                if rest.iter().all(|b| b.has_meta_api(m.api)) {
                    let mut params = m.params.clone();
                    for b in rest {
                        let other = b
                            .metas
                            .iter()
                            .find(|o| o.api == m.api)
                            .and_then(|o| o.params.clone());
                        params = match (params, other) {
                            (None, x) | (x, None) => x,
                            (Some(a), Some(b)) => Some(a.merge(b.as_ref())),
                        };
                    }
                    self.metas.push(MetaProposal { api: m.api, params });
                }
            }
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
