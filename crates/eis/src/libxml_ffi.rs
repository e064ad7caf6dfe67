//! Hand-written bindings to the few libxml2 functions that XSD validation needs.
//!
//! Only stable parts of the libxml2 ABI are declared: opaque pointers, plain functions, the
//! public `xmlError` struct (unchanged since 2.6) and the exported `xmlFree` hook. Linking is
//! set up by `build.rs` (`pkg-config libxml-2.0`, falling back to `-lxml2`).

#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    reason = "the names are libxml2's, as its headers spell them"
)]

use std::ffi::{c_char, c_int, c_void};
use std::marker::{PhantomData, PhantomPinned};

macro_rules! opaque {
    ($($name:ident),*) => {$(
        /// Opaque libxml2 type, only ever used behind a pointer.
        #[repr(C)]
        pub struct $name {
            _data: [u8; 0],
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
    )*};
}

opaque!(xmlSchema, xmlSchemaParserCtxt, xmlSchemaValidCtxt, xmlDoc, xmlNode);

/// `struct _xmlError` from `libxml/xmlerror.h`.
#[repr(C)]
pub struct xmlError {
    pub domain: c_int,
    pub code: c_int,
    pub message: *mut c_char,
    /// `xmlErrorLevel`: 0 none, 1 warning, 2 error, 3 fatal.
    pub level: c_int,
    pub file: *mut c_char,
    pub line: c_int,
    pub str1: *mut c_char,
    pub str2: *mut c_char,
    pub str3: *mut c_char,
    pub int1: c_int,
    /// The column, when known.
    pub int2: c_int,
    pub ctxt: *mut c_void,
    /// The tree node the error is about (`xmlNodePtr`), set by the schema validator.
    pub node: *mut c_void,
}

pub const XML_ERR_WARNING: c_int = 1;

/// `xmlStructuredErrorFunc`. Since 2.12 the second argument is `const xmlError *`; the ABI is
/// the same.
pub type xmlStructuredErrorFunc = Option<unsafe extern "C" fn(user_data: *mut c_void, error: *mut xmlError)>;

/// `xmlParserOption` values used here.
pub const XML_PARSE_NONET: c_int = 1 << 11;
pub const XML_PARSE_COMPACT: c_int = 1 << 16;
pub const XML_PARSE_BIG_LINES: c_int = 1 << 22;

unsafe extern "C" {
    pub fn xmlInitParser();
    /// Builds the XSD built-in type tables. `xmlSchemaParse` does it lazily, unguarded, so two
    /// first compilations on different threads race; it is called once up front instead.
    /// (Returns `int` since 2.11, `void` before; the result is not needed.)
    pub fn xmlSchemaInitTypes();

    pub fn xmlSchemaNewParserCtxt(url: *const c_char) -> *mut xmlSchemaParserCtxt;
    pub fn xmlSchemaSetParserStructuredErrors(
        ctxt: *mut xmlSchemaParserCtxt,
        serror: xmlStructuredErrorFunc,
        ctx: *mut c_void,
    );
    pub fn xmlSchemaParse(ctxt: *mut xmlSchemaParserCtxt) -> *mut xmlSchema;
    pub fn xmlSchemaFreeParserCtxt(ctxt: *mut xmlSchemaParserCtxt);
    pub fn xmlSchemaFree(schema: *mut xmlSchema);

    pub fn xmlSchemaNewValidCtxt(schema: *mut xmlSchema) -> *mut xmlSchemaValidCtxt;
    pub fn xmlSchemaSetValidStructuredErrors(
        ctxt: *mut xmlSchemaValidCtxt,
        serror: xmlStructuredErrorFunc,
        ctx: *mut c_void,
    );
    pub fn xmlSchemaValidateDoc(ctxt: *mut xmlSchemaValidCtxt, doc: *mut xmlDoc) -> c_int;
    pub fn xmlSchemaFreeValidCtxt(ctxt: *mut xmlSchemaValidCtxt);

    pub fn xmlReadMemory(
        buffer: *const c_char,
        size: c_int,
        url: *const c_char,
        encoding: *const c_char,
        options: c_int,
    ) -> *mut xmlDoc;
    pub fn xmlFreeDoc(doc: *mut xmlDoc);

    /// Sets the structured error handler of the calling thread (libxml2 keeps its error
    /// handlers in per-thread global state when built with thread support, as Debian's is).
    pub fn xmlSetStructuredErrorFunc(ctx: *mut c_void, handler: xmlStructuredErrorFunc);
    /// Where the calling thread's structured handler is stored (what the `xmlStructuredError`
    /// macro of `globals.h` reads).
    pub fn __xmlStructuredError() -> *mut xmlStructuredErrorFunc;
    /// Where the calling thread's structured handler context is stored
    /// (`xmlStructuredErrorContext`).
    pub fn __xmlStructuredErrorContext() -> *mut *mut c_void;

    /// `/prefix:a/prefix:b[2]/…` of a node; the result is freed with [`xmlFree`].
    pub fn xmlGetNodePath(node: *const xmlNode) -> *mut u8;

    /// The deallocator libxml2 allocated its strings with (a global function pointer).
    pub static xmlFree: Option<unsafe extern "C" fn(ptr: *mut c_void)>;
}
