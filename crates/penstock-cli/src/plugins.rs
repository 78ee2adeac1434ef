//! The element crates this program offers: the one place `inspect` and `launch` get
//! their elements from.

use penstock::element::{Plugin, Registry};

/// Every linked element crate's plugin. A new element crate (V4L2, IPC, PipeWire) adds
/// its elements to the command by one entry here.
pub const PLUGINS: &[Plugin] = &[penstock_elements::PLUGIN];

/// A registry with the elements of every plugin in [`PLUGINS`].
pub fn registry() -> Registry {
    Registry::with_plugins(PLUGINS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plugin_and_every_one_of_its_elements_is_offered() {
        let r = registry();
        assert_eq!(
            r.plugins().collect::<Vec<_>>(),
            PLUGINS.iter().map(|p| p.name).collect::<Vec<_>>()
        );
        for plugin in PLUGINS {
            let mut alone = Registry::new();
            (plugin.register)(&mut alone);
            assert!(alone.factories().next().is_some(), "{}", plugin.name);
            for f in alone.factories() {
                assert!(r.find(f.name).is_some(), "{} of {}", f.name, plugin.name);
                assert_eq!(r.plugin_of(f.name), Some(plugin.name), "{}", f.name);
            }
        }
        // Nothing but what the plugins register.
        let total: usize = PLUGINS
            .iter()
            .map(|p| Registry::with_plugins(&[*p]).factories().count())
            .sum();
        assert_eq!(
            r.factories().count(),
            total,
            "two plugins register one name"
        );
    }
}
