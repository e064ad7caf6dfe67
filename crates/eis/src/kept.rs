//! Content the typed model has no field for, kept so that a document read and written again
//! loses nothing.
//!
//! The reader marks every element the typed model consumed. An element it did not consume is
//! kept whole as an [`XmlElement`], together with where it was: the path of its parent
//! (relative to the typed node that owns the [`Kept`]) and the local name of the nearest
//! consumed sibling before it. The writer puts it back right after that sibling's run, which is
//! where the schema's sequence had it.

use std::cell::Cell;

use roxmltree::{Document, Node};

use crate::ReadError;

/// An XML element with everything under it, namespace-aware (prefixes are not kept: the writer
/// chooses its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlElement {
    pub namespace: Option<String>,
    pub name: String,
    pub attributes: Vec<XmlAttribute>,
    /// The text of an element without element children, surrounding whitespace removed (as
    /// everywhere in the reader). Mixed content does not occur in ЕИС documents.
    pub text: String,
    pub children: Vec<XmlElement>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlAttribute {
    pub namespace: Option<String>,
    pub name: String,
    pub value: String,
}

/// One kept element and its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptElement {
    /// Path of the parent relative to the owner, as `commonInfo[1]/OKPD2Info[1]` (local names,
    /// 1-based index among the consumed siblings of the same name); empty for the owner itself.
    pub parent: String,
    /// Local name of the consumed sibling it followed; `None` when it came before all of them.
    pub after: Option<String>,
    pub element: XmlElement,
}

/// Elements of a document the typed model does not hold, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept(pub Vec<KeptElement>);

impl Kept {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &KeptElement> {
        self.0.iter()
    }
}

impl XmlElement {
    pub(crate) fn from_node(node: Node<'_, '_>) -> XmlElement {
        let children: Vec<XmlElement> = node.children().filter(Node::is_element).map(XmlElement::from_node).collect();
        let text = if children.is_empty() {
            let mut s = String::new();
            for t in node.children().filter(Node::is_text).filter_map(|c| c.text()) {
                s.push_str(t);
            }
            s.trim().to_owned()
        } else {
            String::new()
        };
        XmlElement {
            namespace: node.tag_name().namespace().map(str::to_owned),
            name: node.tag_name().name().to_owned(),
            attributes: node
                .attributes()
                .map(|a| XmlAttribute {
                    namespace: a.namespace().map(str::to_owned),
                    name: a.name().to_owned(),
                    value: a.value().to_owned(),
                })
                .collect(),
            text,
            children,
        }
    }

    /// Every namespace used in the element and under it, in first-use order.
    pub(crate) fn namespaces(&self, out: &mut Vec<String>) {
        let uris = self.namespace.iter().chain(self.attributes.iter().filter_map(|a| a.namespace.as_ref()));
        for uri in uris {
            if !out.iter().any(|u| u == uri) {
                out.push(uri.clone());
            }
        }
        for c in &self.children {
            c.namespaces(out);
        }
    }
}

/// Which elements of a parsed document the typed reader consumed.
pub(crate) struct Seen(Vec<Cell<bool>>);

impl Seen {
    pub(crate) fn new(doc: &Document<'_>) -> Seen {
        Seen((0..doc.root().descendants().count()).map(|_| Cell::new(false)).collect())
    }

    pub(crate) fn mark(&self, node: Node<'_, '_>) {
        if let Some(c) = self.0.get(node.id().get_usize()) {
            c.set(true);
        }
    }

    pub(crate) fn is_seen(&self, node: Node<'_, '_>) -> bool {
        self.0.get(node.id().get_usize()).is_some_and(Cell::get)
    }

    /// Everything under `owner` (consumed itself) that the reader did not consume, then marks
    /// the whole subtree consumed so that an enclosing owner does not keep it again.
    ///
    /// An element repeating a consumed sibling of the same name is refused: the typed reader
    /// takes the first of an element the schema allows once, and keeping the repetition would
    /// let the writer put it back ahead of the typed one (the written document would then
    /// carry another value). `owner_path` is the owner's path, for the error.
    pub(crate) fn take_kept(&self, owner: Node<'_, '_>, owner_path: &str) -> Result<Kept, ReadError> {
        let mut out = Vec::new();
        self.collect(owner, "", &mut out).map_err(|(at, name)| {
            let at = if at.is_empty() { owner_path.to_owned() } else { format!("{owner_path}/{at}") };
            ReadError::Unsupported {
                path: format!("{at}/{name}"),
                what: "элемент повторяется, а по схеме ЕИС он встречается здесь один раз".into(),
            }
        })?;
        for n in owner.descendants() {
            self.mark(n);
        }
        Ok(Kept(out))
    }

    /// Err: the relative path of the parent and the name of a repeated single element.
    fn collect(&self, parent: Node<'_, '_>, path: &str, out: &mut Vec<KeptElement>) -> Result<(), (String, String)> {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        // Consumed names with their namespaces: the typed reader takes the first match, so a
        // repetition always comes after the consumed one.
        let mut consumed: Vec<(Option<&str>, &str)> = Vec::new();
        let mut after: Option<&str> = None;
        for c in parent.children().filter(Node::is_element) {
            let name = c.tag_name().name();
            let qualified = (c.tag_name().namespace(), name);
            if self.is_seen(c) {
                if !consumed.contains(&qualified) {
                    consumed.push(qualified);
                }
                let n = match counts.iter_mut().find(|(k, _)| *k == name) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        counts.push((name, 1));
                        1
                    }
                };
                if c.children().any(|g| g.is_element()) {
                    let child_path =
                        if path.is_empty() { format!("{name}[{n}]") } else { format!("{path}/{name}[{n}]") };
                    self.collect(c, &child_path, out)?;
                }
                after = Some(name);
            } else if consumed.contains(&qualified) {
                return Err((path.to_owned(), name.to_owned()));
            } else {
                out.push(KeptElement {
                    parent: path.to_owned(),
                    after: after.map(str::to_owned),
                    element: XmlElement::from_node(c),
                });
            }
        }
        Ok(())
    }
}
