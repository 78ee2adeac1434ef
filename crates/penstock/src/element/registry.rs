//! Element factories, plugins and the registry that makes elements by name.

use super::*;

/// The description of an element type.
pub struct ElementFactory {
    /// Factory name (`videotestsrc`).
    pub name: &'static str,
    /// Human name.
    pub long_name: &'static str,
    /// Classification (`Source/Video`).
    pub klass: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Properties (besides `name`).
    pub properties: Vec<PropertySpec>,
    /// Pad templates.
    pub pad_templates: Vec<PadTemplate>,
    /// Makes an implementation.
    pub create: fn() -> Box<dyn ElementImpl>,
}

impl fmt::Debug for ElementFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElementFactory")
            .field("name", &self.name)
            .finish()
    }
}

impl ElementFactory {
    /// The spec of property `name`.
    pub fn property(&self, name: &str) -> Option<&PropertySpec> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// The template named `name`.
    pub fn pad_template(&self, name: &str) -> Option<&PadTemplate> {
        self.pad_templates.iter().find(|t| t.name == name)
    }
}

/// A crate's elements, registered in one call: penstock's static plugins.
///
/// Every crate that offers elements exports one (`penstock_elements::PLUGIN`); an
/// application builds its [`Registry`] from the plugins it links with
/// ([`Registry::with_plugins`]), so a new element crate is one more entry in that list.
///
/// ```
/// use penstock::element::{Plugin, Registry};
///
/// fn register(registry: &mut Registry) {
///     // registry.register(mysrc::factory());
///     let _ = registry;
/// }
///
/// pub const PLUGIN: Plugin = Plugin {
///     name: "my-elements",
///     description: "my sources and sinks",
///     register,
/// };
///
/// let registry = Registry::with_plugins(&[PLUGIN]);
/// assert_eq!(registry.plugins().collect::<Vec<_>>(), ["my-elements"]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Plugin {
    /// The plugin's name (by convention its crate's).
    pub name: &'static str,
    /// What its elements are for.
    pub description: &'static str,
    /// Adds the plugin's factories to a registry.
    pub register: fn(&mut Registry),
}

/// Element factories by name.
#[derive(Default, Debug)]
pub struct Registry {
    factories: BTreeMap<&'static str, Arc<ElementFactory>>,
    /// The plugin each factory came from (none for a factory registered directly).
    origins: BTreeMap<&'static str, &'static str>,
    plugins: Vec<&'static str>,
    /// The plugin being registered.
    registering: Option<&'static str>,
    counters: Mutex<BTreeMap<&'static str, u32>>,
}

/// Making an element failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MakeError {
    /// No factory of that name.
    #[error("no element \"{}\"{}", crate::launch::abbreviate(name), .suggestion.as_ref().map(|s| format!(" (did you mean \"{s}\"?)")).unwrap_or_default())]
    NoSuchElement {
        /// The name asked for.
        name: String,
        /// The closest known name.
        suggestion: Option<String>,
    },
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// A registry with the factories of every plugin in `plugins`, in order.
    pub fn with_plugins(plugins: &[Plugin]) -> Self {
        let mut r = Registry::new();
        for p in plugins {
            r.register_plugin(p);
        }
        r
    }

    /// Adds every factory of `plugin` (a later plugin's factory replaces an earlier one
    /// of the same name, as [`register`](Self::register) does).
    pub fn register_plugin(&mut self, plugin: &Plugin) {
        let outer = self.registering.replace(plugin.name);
        (plugin.register)(self);
        self.registering = outer;
        if !self.plugins.contains(&plugin.name) {
            self.plugins.push(plugin.name);
        }
    }

    /// Adds a factory (replacing one of the same name).
    pub fn register(&mut self, factory: ElementFactory) {
        match self.registering {
            Some(plugin) => self.origins.insert(factory.name, plugin),
            None => self.origins.remove(factory.name),
        };
        self.factories.insert(factory.name, Arc::new(factory));
    }

    /// The names of the plugins registered, in order.
    pub fn plugins(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.plugins.iter().copied()
    }

    /// The plugin factory `name` came from (`None`: unknown, or registered directly).
    pub fn plugin_of(&self, name: &str) -> Option<&'static str> {
        self.origins.get(name).copied()
    }

    /// The factory named `name`.
    pub fn find(&self, name: &str) -> Option<&Arc<ElementFactory>> {
        self.factories.get(name)
    }

    /// All factories, by name.
    pub fn factories(&self) -> impl Iterator<Item = &Arc<ElementFactory>> {
        self.factories.values()
    }

    /// Makes an element; `name` defaults to the factory name and a counter
    /// (`queue0`, `queue1`).
    ///
    /// # Errors
    /// [`MakeError::NoSuchElement`] with the closest known name.
    pub fn make(&self, factory: &str, name: Option<&str>) -> Result<Element, MakeError> {
        let Some(f) = self.factories.get(factory) else {
            let suggestion = self
                .factories
                .keys()
                .map(|k| (edit_distance(k, factory), *k))
                // Close enough to be a typo: a third of the name, at least one edit.
                .filter(|(d, _)| *d <= (factory.chars().count() / 3).max(1))
                .min()
                .map(|(_, k)| k.to_owned());
            return Err(MakeError::NoSuchElement {
                name: factory.to_owned(),
                suggestion,
            });
        };
        let name = match name {
            Some(n) => n.to_owned(),
            None => {
                let mut c = self.counters.lock_ignore_poison();
                let n = c.entry(f.name).or_insert(0);
                let name = format!("{}{}", f.name, n);
                *n += 1;
                name
            }
        };
        Ok(Element::new(Arc::clone(f), name))
    }
}

pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let v = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            cur.push(v);
        }
        prev = cur;
    }
    prev[b.len()]
}
