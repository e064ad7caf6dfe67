//! Small XML helpers shared by the packet and reply modules: a writer that emits indented,
//! escaped UTF-8 and namespace-aware reading helpers over roxmltree.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, TimeZone};
use roxmltree::Node;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::ReadError;

/// Moscow time: ЕИС works in it, and an `xs:dateTime` without an offset is read as such.
pub(crate) fn moscow() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).expect("+03:00 is a valid offset")
}

pub(crate) struct XmlWriter {
    out: String,
    depth: usize,
}

impl XmlWriter {
    pub(crate) fn new() -> Self {
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Self { out, depth: 0 }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
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

    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    pub(crate) fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str("/>\n");
    }

    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.start_tag(name, &[]);
        self.out.push('>');
        escape_into(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// Writes the element only when the value is present and non-empty: every optional string
    /// in the ЕИС schemas has `minLength 1`, so an empty element would be invalid.
    pub(crate) fn leaf_opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            self.leaf(name, t);
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// Whether `c` may appear in an XML 1.0 document at all.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn escape_into(out: &mut String, s: &str, attr: bool) {
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

/// Money as ЕИС's `moneyPosNegMaxLengthToPoint18Type`: always two decimals.
pub(crate) fn money(d: Decimal) -> String {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r.to_string()
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

/// Reading cursor: a node plus its path, for error messages that point at the element.
#[derive(Clone, Copy)]
pub(crate) struct El<'a, 'i> {
    pub(crate) node: Node<'a, 'i>,
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
        Self { node }
    }

    pub(crate) fn is(&self, ns: Option<&str>, name: &str) -> bool {
        self.node.is_element()
            && self.node.tag_name().name() == name
            && self.node.tag_name().namespace() == ns
    }

    pub(crate) fn children(&self, ns: Option<&'static str>, name: &'static str) -> impl Iterator<Item = El<'a, 'i>> + use<'a, 'i> {
        self.node
            .children()
            .map(El::new)
            .filter(move |c| c.is(ns, name))
    }

    pub(crate) fn child(&self, ns: Option<&'static str>, name: &'static str) -> Option<El<'a, 'i>> {
        self.children(ns, name).next()
    }

    pub(crate) fn req(&self, ns: Option<&'static str>, name: &'static str, path: &Path) -> Result<El<'a, 'i>, ReadError> {
        self.child(ns, name)
            .ok_or_else(|| ReadError::Missing(path.join(name).0))
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

    pub(crate) fn req_text(&self, ns: Option<&'static str>, name: &'static str, path: &Path) -> Result<String, ReadError> {
        Ok(self.req(ns, name, path)?.text())
    }

    pub(crate) fn opt_text(&self, ns: Option<&'static str>, name: &'static str) -> Option<String> {
        self.child(ns, name).map(|e| e.text()).filter(|t| !t.is_empty())
    }
}

pub(crate) fn parse_document(xml: &str) -> Result<roxmltree::Document<'_>, ReadError> {
    let opts = roxmltree::ParsingOptions { allow_dtd: false, ..Default::default() };
    roxmltree::Document::parse_with_options(xml, opts).map_err(|e| ReadError::Syntax(e.to_string()))
}

pub(crate) fn qualified_name(node: Node<'_, '_>) -> String {
    match node.tag_name().namespace() {
        Some(ns) => format!("{{{}}}{}", ns, node.tag_name().name()),
        None => node.tag_name().name().to_owned(),
    }
}
