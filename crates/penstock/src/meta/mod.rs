//! Typed metas: extra information attached to a buffer.
//!
//! A meta is any `'static` type implementing [`Meta`]. Buffers hold them boxed and hand
//! them back typed (`buffer.meta::<VideoMeta>()`). Each meta says what happens to it when
//! the buffer is copied or a region of it is shared ([`Meta::transform`]): layout metas
//! describe the whole buffer and are dropped for partial regions; the rest is cloned.

use std::any::{Any, TypeId};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// What a buffer operation is doing to a meta's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaTransform {
    /// True when only a region of the buffer is copied or shared.
    pub region: bool,
    /// Offset of the region in the source buffer.
    pub offset: usize,
    /// Size of the region.
    pub size: usize,
    /// True when the bytes are copied (not shared).
    pub deep: bool,
}

impl MetaTransform {
    /// The transform of a whole-buffer copy of `size` bytes.
    pub fn whole(size: usize) -> Self {
        MetaTransform {
            region: false,
            offset: 0,
            size,
            deep: false,
        }
    }
}

/// A meta that can be attached to buffers.
///
/// ```
/// use penstock::meta::{Meta, MetaTransform};
/// #[derive(Debug, Clone, PartialEq)]
/// struct FrameNumber(u64);
/// impl Meta for FrameNumber {
///     fn name(&self) -> &'static str { "FrameNumber" }
///     fn transform(&self, _t: &MetaTransform) -> Option<Box<dyn Meta>> {
///         Some(Box::new(self.clone()))
///     }
/// }
/// let mut b = penstock::BufferMut::new();
/// b.add_meta(FrameNumber(7));
/// assert_eq!(b.meta::<FrameNumber>(), Some(&FrameNumber(7)));
/// ```
pub trait Meta: Any + Send + Sync + fmt::Debug {
    /// The meta's API name (`"VideoMeta"`), used in reports and the allocation query.
    fn name(&self) -> &'static str;

    /// The meta to put on a copy (or a shared region) of the buffer, or `None` to drop
    /// it there.
    fn transform(&self, transform: &MetaTransform) -> Option<Box<dyn Meta>>;
}

/// A meta's type, the typed identity that lookups and the allocation query use
/// (`MetaApi::of::<VideoMeta>()`): two metas are the same API when they are the same Rust
/// type. [`name`](MetaApi::name) is the type's name, for reports.
#[derive(Clone, Copy)]
pub struct MetaApi {
    id: TypeId,
    name: &'static str,
}

impl MetaApi {
    /// The API of meta type `M`.
    pub fn of<M: Meta>() -> MetaApi {
        let full = std::any::type_name::<M>();
        // `crate::module::Name<..>` → `Name<..>`: the last path segment before generics.
        let base = full.split('<').next().unwrap_or(full);
        let start = base.rfind("::").map_or(0, |i| i + 2);
        MetaApi {
            id: TypeId::of::<M>(),
            name: &full[start..],
        }
    }

    /// The type's name (`"VideoMeta"`).
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl PartialEq for MetaApi {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
    }
}

impl Eq for MetaApi {}

impl Hash for MetaApi {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.id.hash(h);
    }
}

impl fmt::Debug for MetaApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// What a consumer asks of buffers carrying a meta, in the allocation query (for a video
/// layout meta: padding and stride alignment). The meta's crate defines the type.
pub trait MetaParams: Any + Send + Sync + fmt::Debug {
    /// The parameters that satisfy both `self` and `other` (a tee's branches).
    fn merge(&self, other: &dyn MetaParams) -> Arc<dyn MetaParams>;

    /// True if `other` is the same type with the same values.
    fn same(&self, other: &dyn MetaParams) -> bool;
}

/// A meta with how it was attached.
pub(crate) struct MetaEntry {
    pub(crate) meta: Box<dyn Meta>,
    /// Added by a buffer pool: kept when the buffer goes back to it.
    pub(crate) pooled: bool,
}

impl fmt::Debug for MetaEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.meta.fmt(f)
    }
}

impl MetaEntry {
    pub(crate) fn downcast_ref<T: Meta>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.meta;
        any.downcast_ref::<T>()
    }

    pub(crate) fn downcast_mut<T: Meta>(&mut self) -> Option<&mut T> {
        let any: &mut dyn Any = &mut *self.meta;
        any.downcast_mut::<T>()
    }

    pub(crate) fn is<T: Meta>(&self) -> bool {
        let any: &dyn Any = &*self.meta;
        any.is::<T>()
    }
}
