//! Bounds on every XML document plangraf and the sandbox read, checked before any tree is
//! built.
//!
//! Every reader of this crate (packets, ЕИС replies, exports, НСИ files) and the schema
//! validator go through [`check`] first: a streaming scan that refuses a document larger than
//! its kind's byte limit or with elements nested deeper than [`MAX_DEPTH`], without allocating
//! per element. Only then is the tree built (roxmltree, with a node limit), so neither the
//! parser nor the recursive code over the tree (kept content, see [`crate::kept`]) ever sees a
//! document nested deeper than [`MAX_DEPTH`].
//!
//! The limits are public so that documentation can cite them:
//!
//! | kind | bytes | nodes |
//! |---|---|---|
//! | packets ([`PACKET`]) | 64 MiB | 4 Mi |
//! | exports ([`EXPORT`]) | 64 MiB | 4 Mi |
//! | replies ([`REPLY`]) | 8 MiB | 512 Ki |
//! | НСИ files ([`NSI`]) | 128 MiB | 8 Mi |

use crate::ReadError;

/// The deepest element nesting any reader accepts (the root element is level 1).
///
/// Real ЕИС documents stay under 30 levels (a plan-schedule packet's deepest element, a КБК
/// amount of a position's financing, is at level 9; kept blocks such as attachments add a few
/// more). 64 leaves room for everything the schemas allow while keeping every recursion over
/// a document's tree within a few tens of kilobytes of stack.
pub const MAX_DEPTH: usize = 64;

/// Room per node in the node limits: real documents average more than 16 bytes per node (an
/// element and its text), so a document within its byte limit is never refused for its node
/// count, while one made of empty tags (`<a/>`, 4 bytes a node) cannot build a tree four
/// times the size its bytes promise.
const BYTES_PER_NODE: usize = 16;

/// The bounds of one kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest document, in bytes of UTF-8 text.
    pub max_bytes: usize,
    /// The most roxmltree nodes (elements, texts, comments, processing instructions).
    pub max_nodes: u32,
    /// The deepest element nesting.
    pub max_depth: usize,
}

impl Limits {
    const fn of_bytes(max_bytes: usize) -> Limits {
        let nodes = max_bytes / BYTES_PER_NODE;
        let max_nodes = if nodes > u32::MAX as usize { u32::MAX } else { nodes as u32 };
        Limits { max_bytes, max_nodes, max_depth: MAX_DEPTH }
    }
}

/// Plan-schedule packets (`tenderPlan2020`, `tenderPlan2020Change`): the sandbox accepts
/// uploads up to 64 MiB, room for a plan of well over 5,000 positions.
pub const PACKET: Limits = Limits::of_bytes(64 * 1024 * 1024);

/// What ЕИС publishes (`export/tenderPlan2020`): a whole plan, as large as a packet.
pub const EXPORT: Limits = PACKET;

/// ЕИС replies and service requests (`confirmation`, `errorInfo`, `fcsDocProjectStatus…`):
/// a confirmation with a few thousand violations is about 2 MiB.
pub const REPLY: Limits = Limits::of_bytes(8 * 1024 * 1024);

/// НСИ exports: the upload limit of the reference data page (the whole ОКПД2, about 40,000
/// records, is about 25 MB).
pub const NSI: Limits = Limits::of_bytes(128 * 1024 * 1024);

/// Checks `xml` against `limits` without building anything: its size, then the depth of its
/// elements in one pass over the markup. A document that is not well-formed may pass (the
/// parser refuses it next); a well-formed one over a limit never does.
pub fn check(xml: &str, limits: &Limits) -> Result<(), ReadError> {
    if xml.len() > limits.max_bytes {
        return Err(ReadError::TooLarge { size: xml.len(), limit: limits.max_bytes });
    }
    let b = xml.as_bytes();
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(off) = find_byte(b, i, b'<') {
        let at = i + off;
        let rest = &b[at + 1..];
        // Each branch moves `i` past the construct; an unterminated one ends the scan (the
        // parser reports it).
        let next = if rest.starts_with(b"!--") {
            find(b, at + 4, b"-->").map(|e| e + 3)
        } else if rest.starts_with(b"![CDATA[") {
            find(b, at + 9, b"]]>").map(|e| e + 3)
        } else if rest.starts_with(b"?") {
            find(b, at + 2, b"?>").map(|e| e + 2)
        } else if rest.starts_with(b"!") {
            skip_declaration(b, at + 2)
        } else if rest.starts_with(b"/") {
            depth = depth.saturating_sub(1);
            find_byte(b, at + 2, b'>').map(|e| at + 2 + e + 1)
        } else {
            let end = tag_end(b, at + 1);
            let self_closing = end.is_some_and(|e| e > at + 1 && b[e - 1] == b'/');
            if depth + 1 > limits.max_depth {
                return Err(ReadError::TooDeep { limit: limits.max_depth, line: line_of(b, at) });
            }
            if !self_closing {
                depth += 1;
            }
            end.map(|e| e + 1)
        };
        match next {
            Some(n) => i = n,
            None => return Ok(()),
        }
    }
    Ok(())
}

/// Parses `xml` into a tree after [`check`], with the node limit of `limits`. DTDs are
/// refused (ЕИС documents have none, and entity definitions are a way to blow a small
/// document up).
pub fn parse<'i>(xml: &'i str, limits: &Limits) -> Result<roxmltree::Document<'i>, ReadError> {
    check(xml, limits)?;
    let opts = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: limits.max_nodes, ..Default::default() };
    roxmltree::Document::parse_with_options(xml, opts).map_err(|e| match e {
        roxmltree::Error::NodesLimitReached => ReadError::TooManyNodes { limit: limits.max_nodes },
        e => ReadError::Syntax(syntax_ru(&e)),
    })
}

/// What is wrong with the markup, in Russian, with its place: the parser's own messages are
/// English and would reach the user.
fn syntax_ru(e: &roxmltree::Error) -> String {
    use roxmltree::Error as E;
    let what = match e {
        E::DtdDetected => {
            return "документ содержит объявление DTD (<!DOCTYPE …>); в документах ЕИС его нет, и оно не допускается"
                .into();
        }
        E::NoRootNode => return "в документе нет корневого элемента".into(),
        E::UnclosedRootNode => "корневой элемент не закрыт: документ оборван".into(),
        E::UnexpectedCloseTag(expected, actual, _) => {
            format!("закрывающий тег </{actual}> не соответствует открытому <{expected}>")
        }
        E::UnknownNamespace(prefix, _) => format!("префикс пространства имён «{prefix}» не объявлен"),
        E::DuplicatedNamespace(prefix, _) => format!("пространство имён «{prefix}» объявлено дважды"),
        E::DuplicatedAttribute(name, _) => format!("атрибут «{name}» указан дважды"),
        E::UnknownEntityReference(name, _) => format!("неизвестная ссылка на сущность «&{name};»"),
        E::MalformedEntityReference(_) | E::EntityReferenceLoop(_) | E::UnexpectedEntityCloseTag(_) => {
            "неверная ссылка на сущность".into()
        }
        E::InvalidAttributeValue(_) => "неверное значение атрибута".into(),
        E::AttributesLimitReached | E::NamespacesLimitReached => "слишком много атрибутов или пространств имён".into(),
        _ => "нарушена разметка XML".into(),
    };
    let pos = e.pos();
    format!("{what} (строка {}, позиция {})", pos.row, pos.col)
}

fn find_byte(b: &[u8], from: usize, needle: u8) -> Option<usize> {
    b.get(from..)?.iter().position(|&c| c == needle)
}

/// Absolute position of `needle` at or after `from`.
fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

/// The `>` that ends a start tag beginning at `from`, skipping quoted attribute values.
fn tag_end(b: &[u8], from: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (k, &c) in b.get(from..)?.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return Some(from + k),
            None => {}
        }
    }
    None
}

/// Past the `>` of a `<!DOCTYPE …>`-like declaration: brackets of an internal subset and
/// quoted literals may hold `>`. (The parser refuses DTDs anyway; this only keeps the scan in
/// step.)
fn skip_declaration(b: &[u8], from: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    let mut brackets = 0usize;
    for (k, &c) in b.get(from..)?.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'[' => brackets += 1,
                b']' => brackets = brackets.saturating_sub(1),
                b'>' if brackets == 0 => return Some(from + k + 1),
                _ => {}
            },
        }
    }
    None
}

fn line_of(b: &[u8], at: usize) -> usize {
    b[..at].iter().filter(|&&c| c == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "<a>".repeat(levels), "</a>".repeat(levels))
    }

    const SMALL: Limits = Limits { max_bytes: 1000, max_nodes: 100, max_depth: 3 };

    #[test]
    fn depth_up_to_the_limit_passes_and_one_more_is_refused() {
        assert_eq!(check(&nested(3), &SMALL), Ok(()));
        assert_eq!(check("<a><b><c/></b><b><c/></b></a>", &SMALL), Ok(()));
        assert_eq!(check(&nested(4), &SMALL), Err(ReadError::TooDeep { limit: 3, line: 1 }));
        // An empty element is a level too.
        assert_eq!(check("<a><b>\n<c><d/></c></b></a>", &SMALL), Err(ReadError::TooDeep { limit: 3, line: 2 }));
        assert_eq!(check(&nested(MAX_DEPTH), &PACKET), Ok(()));
        assert!(matches!(check(&nested(MAX_DEPTH + 1), &PACKET), Err(ReadError::TooDeep { .. })));
    }

    #[test]
    fn markup_that_is_not_an_element_does_not_count() {
        let doc = "<?xml version=\"1.0\"?><!-- <x><x><x> --><a x=\"/>\" y='<b>'><![CDATA[<c><c><c>]]>\
                   <?pi <d><d>?><b/><b></b ></a>";
        assert_eq!(check(doc, &SMALL), Ok(()));
        assert_eq!(check("<!DOCTYPE a [<!ENTITY e \"<x>\">]><a><b/></a>", &SMALL), Ok(()));
        // A quoted `/` is not the end of an empty element.
        assert!(check("<a><b><c x=\"/\"><d/></c></b></a>", &SMALL).is_err());
    }

    #[test]
    fn syntax_errors_are_told_in_russian() {
        let said = |xml: &str| match parse(xml, &SMALL) {
            Err(ReadError::Syntax(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(said("<!DOCTYPE a><a/>").contains("объявление DTD"));
        assert!(said("<a><b></a>").contains("закрывающий тег </a> не соответствует открытому <b>"));
        assert!(said("<a>\n<x:b/></a>").contains("префикс пространства имён «x» не объявлен (строка 2"));
        for xml in ["<a", "<a x='1' x='2'/>", "<a>&nope;</a>", "", "<a/><b/>"] {
            let m = said(xml);
            assert!(m.chars().any(|c| ('а'..='я').contains(&c)) && !m.is_ascii(), "{xml}: {m}");
        }
    }

    #[test]
    fn size_and_nodes_are_bounded() {
        let big = "<a>".to_owned() + &"x".repeat(1000) + "</a>";
        assert_eq!(check(&big, &SMALL), Err(ReadError::TooLarge { size: 1007, limit: 1000 }));
        let many = format!("<a>{}</a>", "<b/>".repeat(100));
        assert_eq!(parse(&many, &SMALL).err(), Some(ReadError::TooManyNodes { limit: 100 }));
        assert!(parse(&format!("<a>{}</a>", "<b/>".repeat(90)), &SMALL).is_ok());
    }

    #[test]
    fn deep_documents_are_refused_before_parsing() {
        let deep = nested(10_000);
        for limits in [PACKET, EXPORT, REPLY, NSI] {
            assert!(matches!(parse(&deep, &limits), Err(ReadError::TooDeep { limit: MAX_DEPTH, .. })));
        }
    }
}
