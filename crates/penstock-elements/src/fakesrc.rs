//! `fakesrc`: produces empty or fixed-size buffers, for measuring the framework.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use penstock::PoolConfig;
use penstock::basesrc::{BaseSrc, PushSource};
use penstock::buffer::{Buffer, BufferMut};
use penstock::caps::Caps;
use penstock::element::{Element, ElementFactory, PropValue, PropertyError, PropertySpec};
use penstock::event::Format;
use penstock::flow::FlowError;
use penstock::pad::PadTemplate;
use penstock::pool::{AcquireParams, BufferPool};
use penstock::property::PropertyTable;
use penstock::sync::MutexExt;

const SIZETYPES: &[(i32, &str, &str)] = &[
    (1, "empty", "Send empty buffers"),
    (2, "fixed", "Fixed size buffers (sizemax sized)"),
];

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "fakesrc",
        long_name: "Fake Source",
        klass: "Source",
        description: "Push empty (no data) or fixed-size buffers",
        properties: PROPERTIES.specs(),
        pad_templates: vec![PadTemplate::always_src(Caps::new_any())],
        create: || Box::new(BaseSrc::new(FakeSrc::default())),
    }
}

/// How many distinct empty buffers fakesrc hands out in turn (see `FakeSrc::empty`).
const EMPTY_RING: usize = 1024;

#[derive(Debug, Clone)]
struct Settings {
    num_buffers: i64,
    sizetype: i32,
    sizemax: i64,
}

static PROPERTIES: LazyLock<PropertyTable<FakeSrc>> = LazyLock::new(|| {
    PropertyTable::<FakeSrc>::new()
        .add(
            crate::num_buffers_property(
                "Number of buffers to output before sending EOS (-1 = unlimited)",
            ),
            |s| s.settings.lock_ignore_poison().num_buffers,
            |s, v| {
                s.settings.lock_ignore_poison().num_buffers = v;
                s.limit.store(v, Ordering::Relaxed);
            },
        )
        .add(
            PropertySpec::enumeration("sizetype", "How to determine buffer sizes", SIZETYPES, 1),
            |s| s.settings.lock_ignore_poison().sizetype,
            |s, v| s.settings.lock_ignore_poison().sizetype = v,
        )
        .add(
            PropertySpec::int(
                "sizemax",
                "Maximum buffer size",
                0..=i64::from(i32::MAX),
                4096,
            ),
            |s| s.settings.lock_ignore_poison().sizemax,
            |s, v| s.settings.lock_ignore_poison().sizemax = v,
        )
        .add(
            // Zero is the only fill type (the spec admits no other value).
            PropertySpec::enumeration(
                "filltype",
                "Fill buffers with zeros (the only fill type)",
                &[(1, "zero", "Fill with zeros")],
                1,
            ),
            |_| 1,
            |_, _| {},
        )
});

/// The source.
pub struct FakeSrc {
    settings: Mutex<Settings>,
    /// `num-buffers`, readable per buffer without the settings lock.
    limit: AtomicI64,
    /// Buffers made; only the streaming thread writes it (a load and a store).
    produced: AtomicU64,
    /// Whether `pool` is set (fixed-size buffers): empty buffers need no lock.
    pooled: AtomicBool,
    pool: Mutex<Option<BufferPool>>,
    /// sizetype=empty: `EMPTY_RING` distinct empty buffers, handed out in turn.
    /// GStreamer's fakesrc allocates a buffer per `create`; handing out clones of one
    /// shared buffer instead made its reference count (incremented here, decremented
    /// wherever the buffer ends: behind a queue, on another core) bounce between the
    /// cores on every buffer. Distinct buffers, far more than a queue holds at its
    /// default depth, leave each count on one core at a time, with no allocation per
    /// buffer. (Made with the element: made lazily on the streaming thread, they
    /// measured slower, 108 against 69 ns per buffer through a queue.)
    empty: Box<[Buffer]>,
}

impl Default for FakeSrc {
    fn default() -> Self {
        FakeSrc {
            settings: Mutex::new(Settings {
                num_buffers: -1,
                sizetype: 1,
                sizemax: 4096,
            }),
            limit: AtomicI64::new(-1),
            produced: AtomicU64::new(0),
            pooled: AtomicBool::new(false),
            pool: Mutex::new(None),
            empty: (0..EMPTY_RING).map(|_| BufferMut::new().freeze()).collect(),
        }
    }
}

impl FakeSrc {
    fn settings(&self) -> Settings {
        self.settings.lock_ignore_poison().clone()
    }
}

impl PushSource for FakeSrc {
    fn start(&self, _element: &Element) -> Result<(), penstock::element::ElementError> {
        self.produced.store(0, Ordering::Relaxed);
        let s = self.settings();
        if s.sizetype == 2 && s.sizemax > 0 {
            let pool = BufferPool::new("fakesrc-pool");
            pool.set_config(PoolConfig::new(s.sizemax as usize).min_max(2, 0))
                .map_err(|e| penstock::element::ElementError::new(e.to_string()))?;
            pool.set_active(true)
                .map_err(|e| penstock::element::ElementError::new(e.to_string()))?;
            *self.pool.lock_ignore_poison() = Some(pool);
            self.pooled.store(true, Ordering::Release);
        }
        Ok(())
    }

    fn stop(&self, _element: &Element) {
        self.pooled.store(false, Ordering::Release);
        if let Some(pool) = self.pool.lock_ignore_poison().take() {
            let _ = pool.set_active(false);
        }
    }

    fn unlock(&self, _element: &Element) {
        if let Some(pool) = &*self.pool.lock_ignore_poison() {
            pool.set_flushing(true);
        }
    }

    fn unlock_stop(&self, _element: &Element) {
        if let Some(pool) = &*self.pool.lock_ignore_poison() {
            pool.set_flushing(false);
        }
    }

    fn segment_format(&self) -> Format {
        Format::Bytes
    }

    fn create(&self, _element: &Element) -> Result<Buffer, FlowError> {
        let n = self.produced.load(Ordering::Relaxed);
        let limit = self.limit.load(Ordering::Relaxed);
        if limit >= 0 && n >= limit as u64 {
            return Err(FlowError::Eos);
        }
        self.produced.store(n + 1, Ordering::Relaxed);
        if !self.pooled.load(Ordering::Acquire) {
            return Ok(self.empty[n as usize % EMPTY_RING].clone());
        }
        let pool = self.pool.lock_ignore_poison().clone();
        match pool {
            Some(pool) => {
                let mut b = pool
                    .acquire(AcquireParams::default())
                    .map_err(|_| FlowError::Flushing)?;
                b.set_offset(Some(n));
                Ok(b.freeze())
            }
            None => Ok(self.empty[n as usize % EMPTY_RING].clone()),
        }
    }

    fn set_property(
        &self,
        element: &Element,
        name: &str,
        value: PropValue,
    ) -> Result<(), PropertyError> {
        PROPERTIES.set(self, element, name, value)
    }

    fn property(&self, _element: &Element, name: &str) -> Option<PropValue> {
        PROPERTIES.get(self, name)
    }
}
