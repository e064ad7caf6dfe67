//! Small XML helpers shared by the packet and reply modules: a writer that emits escaped UTF-8
//! (compact, or indented for people) and puts kept content back in place, and namespace-aware
//! reading helpers over roxmltree that record what the typed reader consumed.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, TimeZone};
use roxmltree::Node;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::ReadError;
use crate::kept::{Kept, KeptElement, Seen, XmlElement};

/// Moscow time: ЕИС works in it, and an `xs:dateTime` without an offset is read as such.
pub(crate) fn moscow() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).expect("+03:00 is a valid offset")
}

/// How a document is laid out: packets go compact; indented output is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// No whitespace between elements: the form that is sent (about 30 % smaller).
    #[default]
    Compact,
    /// Two spaces per level, one element per line.
    Pretty,
}

/// A kept element waiting for its place, see [`crate::kept`].
struct Pending {
    item: KeptElement,
    done: bool,
}

/// An open element inside a scope with kept content.
struct Frame {
    depth: usize,
    path: String,
    counts: Vec<(String, usize)>,
    last: Option<String>,
    started: bool,
}

/// The kept content of one owner element while it is being written. A scope without kept
/// content costs nothing but shields its owner's subtree from an enclosing scope.
struct Scope {
    owner_depth: usize,
    pending: Vec<Pending>,
    frames: Vec<Frame>,
}

pub(crate) struct XmlWriter {
    out: String,
    depth: usize,
    pretty: bool,
    money_as_read: bool,
    /// Namespaces declared on the root element, and the implicit `xml`: (uri, prefix).
    declared: Vec<(String, String)>,
    scopes: Vec<Scope>,
}

impl XmlWriter {
    pub(crate) fn new() -> Self {
        Self::with_layout(Layout::Compact)
    }

    pub(crate) fn with_layout(layout: Layout) -> Self {
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let declared = vec![(XML_NS.to_owned(), "xml".to_owned())];
        Self { out, depth: 0, pretty: layout == Layout::Pretty, money_as_read: false, declared, scopes: Vec::new() }
    }

    /// Money is written with the decimals it was read with (at most two) instead of always
    /// two: what ЕИС wrote (`0.0`) is written back unchanged.
    pub(crate) fn keep_money_scale(&mut self) {
        self.money_as_read = true;
    }

    /// Opens the root element with its namespace declarations (`prefix`, `uri`).
    pub(crate) fn open_root(&mut self, name: &str, namespaces: &[(&str, &str)], attrs: &[(&str, &str)]) {
        let mut all: Vec<(String, &str)> = namespaces.iter().map(|(p, u)| (format!("xmlns:{p}"), *u)).collect();
        all.extend(attrs.iter().map(|(k, v)| ((*k).to_owned(), *v)));
        let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        self.declared.extend(namespaces.iter().map(|(p, u)| ((*u).to_owned(), (*p).to_owned())));
        self.open(name, &refs);
    }

    /// A leaf holding money: two decimals, or as read (see [`Self::keep_money_scale`]).
    pub(crate) fn leaf_money(&mut self, name: &str, d: Decimal) {
        if self.money_as_read && d.scale() <= 2 {
            self.leaf_num(name, d);
        } else {
            self.leaf_num(name, two_decimals(d));
        }
    }

    /// A leaf holding a number, formatted straight into the output (numbers need no escaping).
    pub(crate) fn leaf_num(&mut self, name: &str, n: impl std::fmt::Display) {
        use std::fmt::Write;
        self.start_tag(name, &[], false);
        self.out.push('>');
        // Writing into a String cannot fail.
        let _ = write!(self.out, "{n}");
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self.newline();
    }

    fn indent(&mut self) {
        if self.pretty {
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
        }
    }

    fn newline(&mut self) {
        if self.pretty {
            self.out.push('\n');
        }
    }

    fn raw_start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_into(&mut self.out, v, true);
            self.out.push('"');
        }
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)], opens: bool) {
        self.enter_child(name.rsplit(':').next().unwrap_or(name), opens);
        self.raw_start_tag(name, attrs);
    }

    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs, true);
        self.out.push('>');
        self.newline();
        self.depth += 1;
    }

    /// Opens an element that owns kept content: the content goes back where it was read.
    pub(crate) fn open_scoped(&mut self, name: &str, attrs: &[(&str, &str)], kept: &Kept) {
        self.open(name, attrs);
        let owner_depth = self.depth - 1;
        let pending: Vec<Pending> = kept.iter().map(|k| Pending { item: k.clone(), done: false }).collect();
        let frames = if pending.is_empty() {
            Vec::new()
        } else {
            vec![Frame { depth: owner_depth, path: String::new(), counts: Vec::new(), last: None, started: false }]
        };
        self.scopes.push(Scope { owner_depth, pending, frames });
    }

    pub(crate) fn close(&mut self, name: &str) {
        self.leave(self.depth.saturating_sub(1));
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self.newline();
    }

    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs, false);
        self.out.push_str("/>");
        self.newline();
    }

    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.start_tag(name, &[], false);
        self.out.push('>');
        escape_into(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self.newline();
    }

    /// Writes the element only when the value is present and non-empty: every optional string
    /// in the ЕИС schemas has `minLength 1`, so an empty element would be invalid.
    pub(crate) fn leaf_opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            self.leaf(name, t);
        }
    }

    pub(crate) fn finish(mut self) -> String {
        if !self.pretty {
            self.out.push('\n');
        }
        self.out
    }

    // --- kept content ------------------------------------------------------------------------

    /// A child element named `local` starts at the current depth: kept elements that followed
    /// the previous run of siblings (or came before all of them) go first.
    fn enter_child(&mut self, local: &str, opens: bool) {
        let depth = self.depth;
        let Some(scope) = self.scopes.last_mut() else { return };
        let Some(parent) = scope.frames.last_mut().filter(|f| f.depth + 1 == depth) else { return };
        let due = if !parent.started {
            parent.started = true;
            Some(None)
        } else if parent.last.as_deref() != Some(local) {
            Some(parent.last.clone())
        } else {
            None
        };
        let n = match parent.counts.iter_mut().find(|(k, _)| k == local) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                parent.counts.push((local.to_owned(), 1));
                1
            }
        };
        parent.last = Some(local.to_owned());
        let path = if opens {
            Some(if parent.path.is_empty() { format!("{local}[{n}]") } else { format!("{}/{local}[{n}]", parent.path) })
        } else {
            None
        };
        if let Some(after) = due {
            let parent_path = scope.frames.last().map(|f| f.path.clone()).unwrap_or_default();
            self.emit(&parent_path, Some(after.as_deref()));
        }
        if let (Some(path), Some(scope)) = (path, self.scopes.last_mut()) {
            scope.frames.push(Frame { depth, path, counts: Vec::new(), last: None, started: false });
        }
    }

    /// The element at `depth` closes: what is left of its kept children goes last, and a scope
    /// it owns ends.
    fn leave(&mut self, depth: usize) {
        loop {
            let Some(scope) = self.scopes.last_mut() else { return };
            if scope.frames.last().is_some_and(|f| f.depth == depth) {
                let path = scope.frames.last().map(|f| f.path.clone()).unwrap_or_default();
                self.emit(&path, None);
                if let Some(scope) = self.scopes.last_mut() {
                    scope.frames.pop();
                }
            }
            match self.scopes.last() {
                Some(scope) if scope.owner_depth == depth => {
                    self.scopes.pop();
                }
                _ => return,
            }
        }
    }

    /// Writes the pending kept children of `parent`: those anchored `after` the given sibling,
    /// or all of them (`None`) when the parent closes.
    fn emit(&mut self, parent: &str, after: Option<Option<&str>>) {
        let Some(scope) = self.scopes.last_mut() else { return };
        let mut due = Vec::new();
        for p in scope.pending.iter_mut().filter(|p| !p.done && p.item.parent == parent) {
            if after.is_none_or(|a| p.item.after.as_deref() == a) {
                p.done = true;
                due.push(std::mem::take(&mut p.item.element));
            }
        }
        for el in &due {
            self.write_kept(el);
        }
    }

    /// Writes a kept element as read, declaring on it the namespaces the root does not.
    fn write_kept(&mut self, el: &XmlElement) {
        let mut used = Vec::new();
        el.namespaces(&mut used);
        let mut local: Vec<(String, String)> = Vec::new();
        for uri in used.into_iter().filter(|u| !self.declared.iter().any(|(d, _)| d == u)) {
            let taken = |p: &str| self.declared.iter().chain(local.iter()).any(|(_, q)| q == p);
            let prefix = match known_prefix(&uri).filter(|p| !taken(p)) {
                Some(p) => p.to_owned(),
                None => (1..).map(|n| format!("n{n}")).find(|p| !taken(p)).unwrap_or_default(),
            };
            local.push((uri, prefix));
        }
        let decls: Vec<(String, String)> = local.iter().map(|(u, p)| (format!("xmlns:{p}"), u.clone())).collect();
        self.write_kept_node(el, &local, &decls);
    }

    fn write_kept_node(&mut self, el: &XmlElement, local: &[(String, String)], decls: &[(String, String)]) {
        let prefix_of = |uri: &str| -> Option<String> {
            self.declared.iter().chain(local.iter()).find(|(u, _)| u == uri).map(|(_, p)| p.clone())
        };
        let qualify = |ns: &Option<String>, name: &str| match ns.as_deref().and_then(prefix_of) {
            Some(p) => format!("{p}:{name}"),
            None => name.to_owned(),
        };
        let name = qualify(&el.namespace, &el.name);
        let mut attrs: Vec<(String, String)> = decls.to_vec();
        attrs.extend(el.attributes.iter().map(|a| (qualify(&a.namespace, &a.name), a.value.clone())));
        let refs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.raw_start_tag(&name, &refs);
        if el.children.is_empty() {
            if el.text.is_empty() {
                self.out.push_str("/>");
            } else {
                self.out.push('>');
                escape_into(&mut self.out, &el.text, false);
                self.out.push_str("</");
                self.out.push_str(&name);
                self.out.push('>');
            }
            self.newline();
            return;
        }
        self.out.push('>');
        self.newline();
        self.depth += 1;
        for c in &el.children {
            self.write_kept_node(c, local, &[]);
        }
        self.depth -= 1;
        self.indent();
        self.out.push_str("</");
        self.out.push_str(&name);
        self.out.push('>');
        self.newline();
    }
}

/// The namespace of `xml:lang` and the like, bound to `xml` without a declaration.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The usual prefixes of the ЕИС namespaces, for kept content in a namespace the root does not
/// declare.
fn known_prefix(uri: &str) -> Option<&'static str> {
    Some(match uri {
        crate::ns::COMMON => "cmn",
        crate::ns::TP => "tp",
        crate::ns::BASE => "base",
        crate::ns::INTEGRATION => "int",
        crate::ns::EXPORT => "exp",
        _ => return None,
    })
}

/// Whether `c` may appear in an XML 1.0 document at all.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn escape_into(out: &mut String, s: &str, attr: bool) {
    // Most texts need no escaping: no markup characters, no control characters, and no
    // U+FFFE/U+FFFF (whose UTF-8 starts with 0xEF, as do other characters that are fine).
    if s.bytes().all(|b| b >= 0x20 && !matches!(b, b'&' | b'<' | b'>' | b'"' | 0xEF)) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            // A literal CR would be normalised away by any reader; the reference keeps it.
            '\r' => out.push_str("&#13;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            // Characters XML cannot carry at all; `PlanPacket::problems` reports them.
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// Money as ЕИС's `moneyPosNegMaxLengthToPoint18Type`: always two decimals (rounded half away
/// from zero if it had more).
fn two_decimals(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

pub(crate) fn date_time(d: &DateTime<FixedOffset>) -> String {
    d.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

pub(crate) fn parse_date_time(s: &str, path: &str) -> Result<DateTime<FixedOffset>, ReadError> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d);
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .and_then(|n| moscow().from_local_datetime(&n).single())
        .ok_or_else(|| ReadError::invalid(path, s, "not an xs:dateTime"))
}

pub(crate) fn parse_bool(s: &str, path: &str) -> Result<bool, ReadError> {
    match s {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ReadError::invalid(path, s, "not an xs:boolean")),
    }
}

pub(crate) fn parse_num<T: FromStr>(s: &str, path: &str, what: &str) -> Result<T, ReadError> {
    s.parse().map_err(|_| ReadError::invalid(path, s, what))
}

pub(crate) fn parse_money(s: &str, path: &str) -> Result<Decimal, ReadError> {
    // `from_str_exact` refuses values it would have to round; ЕИС money has two decimals.
    Decimal::from_str_exact(s).map_err(|_| ReadError::invalid(path, s, "not a money amount"))
}

/// Reading cursor: a node, and for plan documents the record of what the reader consumed
/// (every element reached through a cursor counts as consumed).
#[derive(Clone, Copy)]
pub(crate) struct El<'a, 'i> {
    pub(crate) node: Node<'a, 'i>,
    seen: Option<&'a Seen>,
}

pub(crate) struct Path(pub(crate) String);

impl Path {
    pub(crate) fn join(&self, name: &str) -> Path {
        Path(format!("{}/{}", self.0, name))
    }
    pub(crate) fn nth(&self, name: &str, i: usize) -> Path {
        Path(format!("{}/{}[{}]", self.0, name, i + 1))
    }
}

impl<'a, 'i> El<'a, 'i> {
    pub(crate) fn new(node: Node<'a, 'i>) -> Self {
        Self { node, seen: None }
    }

    /// A cursor that records, in `seen`, every element it reaches.
    pub(crate) fn tracked(node: Node<'a, 'i>, seen: &'a Seen) -> Self {
        seen.mark(node);
        Self { node, seen: Some(seen) }
    }

    /// What the reader did not consume under this element (itself consumed), see
    /// [`crate::kept`]. Empty for an untracked cursor. `path` is this element's, for errors.
    pub(crate) fn take_kept(&self, path: &Path) -> Result<Kept, ReadError> {
        self.seen.map(|s| s.take_kept(self.node, &path.0)).transpose().map(Option::unwrap_or_default)
    }

    pub(crate) fn is(&self, ns: Option<&str>, name: &str) -> bool {
        self.node.is_element() && self.node.tag_name().name() == name && self.node.tag_name().namespace() == ns
    }

    pub(crate) fn children(
        &self,
        ns: Option<&'static str>,
        name: &'static str,
    ) -> impl Iterator<Item = El<'a, 'i>> + use<'a, 'i> {
        let seen = self.seen;
        self.node.children().map(move |node| El { node, seen }).filter(move |c| c.is(ns, name)).inspect(|c| {
            if let Some(s) = c.seen {
                s.mark(c.node);
            }
        })
    }

    pub(crate) fn child(&self, ns: Option<&'static str>, name: &'static str) -> Option<El<'a, 'i>> {
        self.children(ns, name).next()
    }

    pub(crate) fn req(
        &self,
        ns: Option<&'static str>,
        name: &'static str,
        path: &Path,
    ) -> Result<El<'a, 'i>, ReadError> {
        self.child(ns, name).ok_or_else(|| ReadError::Missing(path.join(name).0))
    }

    /// The element's text with the surrounding whitespace removed (pretty-printed documents,
    /// such as real ЕИС exports, wrap long values onto new lines).
    pub(crate) fn text(&self) -> String {
        let mut s = String::new();
        for c in self.node.children() {
            if let Some(t) = c.text().filter(|_| c.is_text()) {
                s.push_str(t);
            }
        }
        s.trim().to_owned()
    }

    pub(crate) fn req_text(
        &self,
        ns: Option<&'static str>,
        name: &'static str,
        path: &Path,
    ) -> Result<String, ReadError> {
        Ok(self.req(ns, name, path)?.text())
    }

    pub(crate) fn opt_text(&self, ns: Option<&'static str>, name: &'static str) -> Option<String> {
        self.child(ns, name).map(|e| e.text()).filter(|t| !t.is_empty())
    }
}

/// Every reader's way to a tree: bounded first, see [`crate::bounds`].
pub(crate) fn parse_document<'i>(
    xml: &'i str,
    limits: &crate::bounds::Limits,
) -> Result<roxmltree::Document<'i>, ReadError> {
    crate::bounds::parse(xml, limits)
}

pub(crate) fn qualified_name(node: Node<'_, '_>) -> String {
    match node.tag_name().namespace() {
        Some(ns) => format!("{{{}}}{}", ns, node.tag_name().name()),
        None => node.tag_name().name().to_owned(),
    }
}
