//! The packet signature (ЭЦП) of `index/signature`: which bytes it covers, and putting one in.
//!
//! ЕИС does not document which bytes a packet's CAdES-BES signature is made over. plangraf
//! signs exactly the bytes of the `data` element as they stand in the packet that is sent, from
//! the `<` of its start tag through the `>` of its end tag, UTF-8, with no canonicalization: a
//! CAdES signature covers bytes, not an XML infoset, so the receiver takes the element as it
//! arrives. The `index` that carries the signature lies outside those bytes
//! (docs/SECURITY.md, «Подписанный пакет»).

use super::*;
use crate::xml::{El, Path};
use crate::{bounds, ns};

const NS_INT: Option<&str> = Some(ns::INTEGRATION);

/// What a packet carries for its signature check: where `data` lies in the document and the
/// text of `index/signature` (surrounding whitespace removed; empty when unsigned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedParts {
    /// The byte range of the `data` element in the document (start tag through end tag).
    pub data: std::ops::Range<usize>,
    /// The base64 text of `index/signature`; empty for an unsigned packet.
    pub signature: String,
}

impl SignedParts {
    /// The signed bytes of `xml`, the document these parts were read from.
    pub fn data_of<'x>(&self, xml: &'x str) -> &'x str {
        &xml[self.data.clone()]
    }
}

/// Reads where the `data` element of a packet (any root in the integration namespace) lies and
/// what its `index/signature` holds, within the bounds of a packet.
pub fn read_signed_parts(xml: &str) -> Result<SignedParts, ReadError> {
    let doc = crate::xml::parse_document(xml, &bounds::PACKET)?;
    let root = El::new(doc.root_element());
    if root.node.tag_name().namespace() != NS_INT {
        return Err(ReadError::UnexpectedRoot {
            found: crate::xml::qualified_name(root.node),
            expected: format!("a packet in {}", ns::INTEGRATION),
        });
    }
    let path = Path(root.node.tag_name().name().to_owned());
    let index = root.req(NS_INT, "index", &path)?;
    let signature = index.child(NS_INT, "signature").map(|s| s.text()).unwrap_or_default();
    let data = root.req(NS_INT, "data", &path)?;
    Ok(SignedParts { data: data.node.range(), signature })
}

/// The bytes a packet's signature covers: its `data` element exactly as written in `xml`.
pub fn signed_data(xml: &str) -> Result<&str, ReadError> {
    let parts = read_signed_parts(xml)?;
    Ok(&xml[parts.data])
}

/// `xml` with `signature` (base64, no line breaks) as the text of its empty `index/signature`;
/// nothing else changes, so the `data` bytes stay exactly those signed. Refused when the
/// element is missing or not empty.
pub fn with_signature(xml: &str, signature: &str) -> Result<String, ReadError> {
    let path = "index/signature";
    if !signature.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) || signature.is_empty()
    {
        return Err(ReadError::invalid(path, signature, "expected base64 without line breaks"));
    }
    let doc = crate::xml::parse_document(xml, &bounds::PACKET)?;
    let root = El::new(doc.root_element());
    let index = root.req(NS_INT, "index", &Path(root.node.tag_name().name().to_owned()))?;
    let element = index.child(NS_INT, "signature").ok_or_else(|| ReadError::Missing(path.into()))?;
    let range = element.node.range();
    let source = &xml[range.clone()];
    let Some(start_tag) = source.strip_suffix("/>").filter(|_| !element.node.has_children()) else {
        return Err(ReadError::invalid(path, source, "expected an empty element to put the signature in"));
    };
    let name_end = start_tag.find(|c: char| c.is_ascii_whitespace()).unwrap_or(start_tag.len());
    let name = &start_tag[1..name_end];
    let mut out = String::with_capacity(xml.len() + signature.len() + name.len() + 4);
    out.push_str(&xml[..range.start]);
    out.push_str(start_tag.trim_end());
    out.push('>');
    out.push_str(signature);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
    out.push_str(&xml[range.end..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><int:tenderPlan2020 \
        xmlns:int=\"http://zakupki.gov.ru/oos/integration/1\" xmlns:tp=\"t\"><int:index><int:id>x</int:id>\
        <int:signature type=\"CAdES-BES\"/><int:mode>PROD</int:mode></int:index>\
        <int:data schemeVersion=\"14.1\"><tp:a>&lt;б&gt;</tp:a></int:data></int:tenderPlan2020>";

    #[test]
    fn the_signed_bytes_are_the_data_element_as_written() {
        let data = signed_data(PACKET).unwrap();
        assert_eq!(data, "<int:data schemeVersion=\"14.1\"><tp:a>&lt;б&gt;</tp:a></int:data>");
        let parts = read_signed_parts(PACKET).unwrap();
        assert_eq!(parts.signature, "");
    }

    #[test]
    fn a_signature_goes_into_the_index_and_leaves_data_alone() {
        let signed = with_signature(PACKET, "MIIB+/==").unwrap();
        assert!(signed.contains("<int:signature type=\"CAdES-BES\">MIIB+/==</int:signature><int:mode>"), "{signed}");
        assert_eq!(signed_data(&signed).unwrap(), signed_data(PACKET).unwrap());
        assert_eq!(read_signed_parts(&signed).unwrap().signature, "MIIB+/==");
        // Only once: a signed packet is not signed again, and text that is not base64 never goes in.
        assert!(with_signature(&signed, "AAAA").is_err());
        assert!(with_signature(PACKET, "AA\nAA").is_err());
        assert!(with_signature(PACKET, "<x/>").is_err());
        assert!(with_signature(PACKET, "").is_err());
    }

    #[test]
    fn a_document_without_data_or_outside_the_namespace_is_refused() {
        assert!(signed_data("<a/>").is_err());
        let no_data = PACKET.replace("<int:data schemeVersion=\"14.1\"><tp:a>&lt;б&gt;</tp:a></int:data>", "");
        assert!(matches!(signed_data(&no_data), Err(ReadError::Missing(_))));
    }
}
