//! `tee`: sends every buffer to all its source pads — a refcount per branch, never a
//! copy. Answers the allocation query with the merge of its branches' answers.

use std::sync::RwLock;

use penstock::buffer::Buffer;
use penstock::caps::Caps;
use penstock::element::{Element, ElementFactory, ElementImpl};
use penstock::flow::{FlowError, FlowResult};
use penstock::pad::{Pad, PadDirection, PadTemplate};
use penstock::query::{AllocationQuery, Query};
use penstock::sync::RwLockExt;

/// The factory.
pub fn factory() -> ElementFactory {
    ElementFactory {
        name: "tee",
        long_name: "Tee pipe fitting",
        klass: "Generic",
        description: "1-to-N pipe fitting",
        properties: vec![],
        pad_templates: vec![
            PadTemplate::always_sink(Caps::new_any()),
            PadTemplate::request_src("src_%u", Caps::new_any()),
        ],
        create: || Box::new(Tee::default()),
    }
}

/// The element.
#[derive(Default)]
pub struct Tee {
    srcs: RwLock<Vec<Pad>>,
}

impl ElementImpl for Tee {
    fn pad_added(&self, _element: &Element, pad: &Pad) {
        if pad.direction() == PadDirection::Src {
            self.srcs.write_ignore_poison().push(pad.clone());
        }
    }

    fn chain(&self, _element: &Element, _pad: &Pad, buffer: Buffer) -> FlowResult {
        let srcs = self.srcs.read_ignore_poison();
        let Some((last, rest)) = srcs.split_last() else {
            return Err(FlowError::NotLinked);
        };
        let mut any_ok = false;
        let mut eos = 0;
        let mut not_linked = 0;
        let mut handle = |r: FlowResult| -> FlowResult {
            match r {
                Ok(()) => any_ok = true,
                Err(FlowError::Eos) => eos += 1,
                Err(FlowError::NotLinked) => not_linked += 1,
                Err(e) => return Err(e),
            }
            Ok(())
        };
        for p in rest {
            handle(p.push(buffer.clone()))?;
        }
        // The last branch takes our handle: no refcount traffic for it.
        handle(last.push(buffer))?;
        if any_ok {
            Ok(())
        } else if eos > 0 && eos + not_linked == srcs.len() {
            Err(FlowError::Eos)
        } else {
            Err(FlowError::NotLinked)
        }
    }

    fn query(&self, element: &Element, pad: &Pad, query: &mut Query) -> bool {
        match query {
            Query::Allocation(q) if pad.direction() == PadDirection::Sink => {
                let srcs = self.srcs.read_ignore_poison().clone();
                let mut answers = Vec::new();
                for p in &srcs {
                    let mut branch =
                        Query::Allocation(AllocationQuery::new(q.caps.clone(), q.need_pool));
                    if p.peer_query(&mut branch) {
                        if let Query::Allocation(a) = branch {
                            answers.push(a);
                        }
                    } else {
                        // A branch that does not answer understands no meta.
                        answers.push(AllocationQuery::new(q.caps.clone(), q.need_pool));
                    }
                }
                q.merge(&answers);
                true
            }
            _ => element.default_query(pad, query),
        }
    }
}
