//! `penstock inspect [ELEMENT]`.

use std::fmt::Write;

use penstock::element::{ElementFactory, PropType, PropValue};

use crate::out::{self, Failure};

/// Arguments of `inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// An element to describe; without it, every element is listed.
    element: Option<String>,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let registry = crate::plugins::registry();
    match args.element {
        None => {
            let mut s = String::new();
            for f in registry.factories() {
                let _ = writeln!(s, "{:<16} {}", format!("{}:", f.name), f.long_name);
            }
            let _ = writeln!(
                s,
                "\nTotal count: {} elements",
                registry.factories().count()
            );
            out::print(&s)
        }
        Some(name) => match registry.find(&name) {
            Some(f) => out::print(&describe(f)),
            None => Err(match registry.make(&name, None) {
                Err(e) => format!("ERROR: {e}"),
                Ok(_) => format!(
                    "ERROR: no such element '{}'",
                    penstock::launch::abbreviate(&name)
                ),
            }
            .into()),
        },
    }
}

/// The description `inspect ELEMENT` prints.
pub fn describe(f: &ElementFactory) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Factory Details:");
    let _ = writeln!(s, "  Long-name                {}", f.long_name);
    let _ = writeln!(s, "  Klass                    {}", f.klass);
    let _ = writeln!(s, "  Description              {}", f.description);
    let _ = writeln!(s, "\nPad Templates:");
    for t in &f.pad_templates {
        let _ = writeln!(s, "  {} template: '{}'", t.direction, t.name);
        let _ = writeln!(s, "    Availability: {}", t.presence);
        let _ = writeln!(s, "    Capabilities:");
        if t.caps.is_any() {
            let _ = writeln!(s, "      ANY");
        } else {
            for (st, features) in t.caps.iter() {
                let feat = if features.is_system_memory() {
                    String::new()
                } else {
                    format!("({features})")
                };
                let _ = writeln!(s, "      {}{feat}", st.name());
                for (k, v) in st.fields() {
                    let _ = writeln!(s, "      {k:>20}: {v}");
                }
            }
        }
    }
    let _ = writeln!(s, "\nElement Properties:");
    let _ = writeln!(
        s,
        "  {:<20}: The name of the object\n{:24}String. Default: null",
        "name", ""
    );
    for p in &f.properties {
        let _ = writeln!(s, "  {:<20}: {}", p.name, p.blurb);
        let range = match &p.ty {
            PropType::Int { min, max } => format!(". Range: {min} - {max}"),
            PropType::UInt { min, max } => format!(". Range: {min} - {max}"),
            PropType::Double { min, max } => format!(". Range: {min} - {max}"),
            _ => String::new(),
        };
        let default = match (&p.ty, &p.default) {
            (PropType::Enum(values), PropValue::Enum(v)) => {
                let nick = values
                    .iter()
                    .find(|(x, _, _)| x == v)
                    .map_or("?", |(_, n, _)| n);
                format!("{v}, \"{nick}\"")
            }
            (_, d) => d.to_string(),
        };
        let _ = writeln!(s, "{:24}{}{range} Default: {default}", "", p.ty.name());
        if let PropType::Enum(values) = &p.ty {
            for (v, nick, desc) in *values {
                let _ = writeln!(s, "{:27}({v}): {nick:<16} - {desc}", "");
            }
        }
    }
    s
}
