//! Best effort: the chunk files an entry script (`remoteEntry.js`) makes the browser
//! request.
//!
//! - webpack and Rspack: the runtime's chunk-name functions, `__webpack_require__.u`
//!   (scripts) and `.miniCssF` (styles), minified as `r.u=e=>…`. Each is a small
//!   expression over the chunk id (string concatenation, object maps indexed by the
//!   id, `id===e?…:…`); it is evaluated for every id the expression lists. The
//!   public path (`.p="…"`) is read when it is a literal.
//! - ES modules (Vite): the relative specifiers of `import … from`, `import(…)` and
//!   `new URL(…, import.meta.url)`.
//!
//! Anything else is reported as not checked; an expression that is not understood
//! never yields a name, so it can never cause a refusal.

/// What one entry script names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    /// File names relative to the chunk base (the public path).
    pub chunks: Vec<String>,
    /// The literal public path (`r.p="/checkout/"`), when there is one and it is not
    /// `auto`.
    pub public_path: Option<String>,
    /// Specifiers relative to the script's own URL.
    pub imports: Vec<String>,
    /// Why part of it could not be checked.
    pub unchecked: Vec<String>,
}

pub fn parse(text: &str) -> Named {
    let mut named = Named::default();
    let webpack = text.contains("__webpack_require__")
        || text.contains("webpackChunk")
        || text.contains("rspackChunk")
        || text.contains(".miniCssF=");
    if webpack {
        // `.k`: Rspack's name function for its native CSS chunks.
        for (function, extension) in [(".u", ".js"), (".miniCssF", ".css"), (".k", ".css")] {
            for body in assignments(text, function) {
                match chunk_names(body, extension) {
                    Some(names) => named.chunks.extend(names),
                    // Only a function that names such files is worth a word: a
                    // minifier reuses short names like `.k` for anything.
                    None if names_files(body, extension) => named.unchecked.push(format!(
                        "its chunk-name function `{function}` is not one mfe-deploy can read"
                    )),
                    None => {}
                }
            }
        }
        named.public_path = assignments(text, ".p")
            .filter_map(|rhs| string_literal(rhs.trim_start()).map(|(s, _)| s))
            .find(|p| p != "auto" && !p.is_empty());
    }
    named.imports = import_specifiers(text);
    named.chunks.sort();
    named.chunks.dedup();
    named.imports.sort();
    named.imports.dedup();
    named
}

/// The text after each `<name>=` (not `==`), as in `r.u=` or `__webpack_require__.u = `.
fn assignments<'a>(text: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.match_indices(name).filter_map(move |(at, _)| {
        let after = &text[at + name.len()..];
        let before = text[..at].chars().next_back()?;
        if !(before.is_alphanumeric() || matches!(before, '_' | '$' | ')' | ']')) {
            return None;
        }
        let rhs = after.trim_start().strip_prefix('=')?;
        (!rhs.starts_with(['=', '>'])).then_some(rhs)
    })
}

/// Whether an assignment looks like a function that builds file names with
/// `extension`.
fn names_files(body: &str, extension: &str) -> bool {
    let head = body.trim_start();
    let function = head.starts_with("function")
        || head
            .get(..head.len().min(12))
            .is_some_and(|h| h.contains("=>"));
    let window: String = head.chars().take(400).collect();
    function && window.contains(&format!("{extension}\""))
}

/// The names a chunk-name function gives, `None` when it is not understood.
fn chunk_names(function: &str, extension: &str) -> Option<Vec<String>> {
    let mut p = Parser::new(function);
    let param = p.function_head()?;
    let body = p.expr(0)?;
    let mut ids = Vec::new();
    body.ids(&mut ids);
    if ids.is_empty() && body.uses(&param) {
        // `e=>e+".abc.css"`: which chunks have a file is decided elsewhere.
        return None;
    }
    if ids.is_empty() {
        ids.push(Value::Undefined);
    }
    let mut names = Vec::new();
    for id in &ids {
        match body.eval(&param, id)? {
            Value::Str(name) if name.ends_with(extension) && !name.contains("undefined") => {
                names.push(name);
            }
            _ => {}
        }
    }
    Some(names)
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Num(String),
    Undefined,
    Bool(bool),
}

impl Value {
    /// A number literal whose leading zeros were all trimmed is `0`.
    fn normalized(self) -> Self {
        match self {
            Self::Num(n) if n.is_empty() => Self::Num("0".to_owned()),
            v => v,
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Str(s) | Self::Num(s) => s.clone(),
            Self::Undefined => "undefined".to_owned(),
            Self::Bool(b) => b.to_string(),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Self::Str(s) => !s.is_empty(),
            Self::Num(n) => n != "0",
            Self::Undefined => false,
            Self::Bool(b) => *b,
        }
    }
}

#[derive(Debug, Clone)]
enum Expr {
    Lit(Value),
    Param(String),
    /// An object literal (only meaningful indexed).
    Object(Vec<(Value, Expr)>),
    Index(Box<Expr>, Box<Expr>),
    Concat(Vec<Expr>),
    Equals(Box<Expr>, Box<Expr>, bool),
    Choose(Box<Expr>, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Every chunk id the expression names: map keys and compared literals.
    fn ids(&self, out: &mut Vec<Value>) {
        match self {
            Self::Lit(_) | Self::Param(_) => {}
            Self::Object(entries) => {
                for (key, value) in entries {
                    if !out.contains(key) {
                        out.push(key.clone());
                    }
                    value.ids(out);
                }
            }
            Self::Index(target, index) => {
                target.ids(out);
                index.ids(out);
            }
            Self::Concat(parts) => parts.iter().for_each(|p| p.ids(out)),
            Self::Equals(a, b, _) => {
                for side in [a, b] {
                    if let Self::Lit(v) = side.as_ref()
                        && !out.contains(v)
                    {
                        out.push(v.clone());
                    }
                    side.ids(out);
                }
            }
            Self::Choose(c, a, b) => [c, a, b].iter().for_each(|e| e.ids(out)),
        }
    }

    fn uses(&self, param: &str) -> bool {
        match self {
            Self::Lit(_) => false,
            Self::Param(p) => p == param,
            Self::Object(entries) => entries.iter().any(|(_, v)| v.uses(param)),
            Self::Index(target, index) => target.uses(param) || index.uses(param),
            Self::Concat(parts) => parts.iter().any(|p| p.uses(param)),
            Self::Equals(a, b, _) => a.uses(param) || b.uses(param),
            Self::Choose(c, a, b) => c.uses(param) || a.uses(param) || b.uses(param),
        }
    }

    fn eval(&self, param: &str, id: &Value) -> Option<Value> {
        Some(match self {
            Self::Lit(v) => v.clone(),
            Self::Param(p) if p == param => id.clone(),
            Self::Param(_) => return None,
            Self::Object(_) => return None,
            Self::Index(target, index) => {
                let Self::Object(entries) = target.as_ref() else {
                    return None;
                };
                let key = index.eval(param, id)?.text();
                entries
                    .iter()
                    .find(|(k, _)| k.text() == key)
                    .map_or(Some(Value::Undefined), |(_, v)| v.eval(param, id))?
            }
            Self::Concat(parts) => {
                let mut text = String::new();
                for part in parts {
                    text.push_str(&part.eval(param, id)?.text());
                }
                Value::Str(text)
            }
            Self::Equals(a, b, strict) => {
                let (a, b) = (a.eval(param, id)?, b.eval(param, id)?);
                let same = if *strict {
                    a == b
                } else {
                    a.text() == b.text()
                };
                Value::Bool(same)
            }
            Self::Choose(c, a, b) => {
                if c.eval(param, id)?.truthy() {
                    a.eval(param, id)?
                } else {
                    b.eval(param, id)?
                }
            }
        })
    }
}

/// A recursive-descent reader of the expressions chunk-name functions are made of.
struct Parser<'a> {
    rest: &'a str,
}

/// Nesting deeper than this is not a chunk-name function.
const MAX_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self { rest: text }
    }

    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.skip_space();
        let len = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(self.rest.len());
        if len == 0 || self.rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let (name, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(name.to_owned())
    }

    /// `e=>`, `(e)=>`, `function(e){return`, `e=>{return`: the parameter's name.
    fn function_head(&mut self) -> Option<String> {
        let param = if self.eat("function") {
            self.ident();
            self.eat("(").then_some(())?;
            let p = self.ident()?;
            self.eat(")").then_some(())?;
            self.eat("{").then_some(())?;
            self.eat("return").then_some(())?;
            return Some(p);
        } else if self.eat("(") {
            let p = self.ident()?;
            self.eat(")").then_some(())?;
            p
        } else {
            self.ident()?
        };
        self.eat("=>").then_some(())?;
        if self.eat("{") {
            self.eat("return").then_some(())?;
        }
        Some(param)
    }

    /// `cond ? a : b` (lowest precedence).
    fn expr(&mut self, depth: usize) -> Option<Expr> {
        if depth > MAX_DEPTH {
            return None;
        }
        let condition = self.equality(depth)?;
        if self.eat("?") {
            let a = self.expr(depth + 1)?;
            self.eat(":").then_some(())?;
            let b = self.expr(depth + 1)?;
            return Some(Expr::Choose(Box::new(condition), Box::new(a), Box::new(b)));
        }
        Some(condition)
    }

    fn equality(&mut self, depth: usize) -> Option<Expr> {
        let left = self.concat(depth)?;
        for (token, strict) in [("===", true), ("==", false)] {
            if self.eat(token) {
                let right = self.concat(depth)?;
                return Some(Expr::Equals(Box::new(left), Box::new(right), strict));
            }
        }
        Some(left)
    }

    fn concat(&mut self, depth: usize) -> Option<Expr> {
        let mut parts = vec![self.indexed(depth)?];
        while self.eat("+") {
            parts.push(self.indexed(depth)?);
        }
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Concat(parts)
        })
    }

    /// A primary, indexed (`{…}[e]`, `({…})[e]`) any number of times.
    fn indexed(&mut self, depth: usize) -> Option<Expr> {
        let mut target = self.primary(depth)?;
        while self.eat("[") {
            let index = self.expr(depth + 1)?;
            self.eat("]").then_some(())?;
            target = Expr::Index(Box::new(target), Box::new(index));
        }
        Some(target)
    }

    fn primary(&mut self, depth: usize) -> Option<Expr> {
        self.skip_space();
        if self.rest.starts_with('{') {
            return self.map(depth).map(Expr::Object);
        }
        if self.eat("(") {
            let inner = self.expr(depth + 1)?;
            self.eat(")").then_some(())?;
            return Some(inner);
        }
        if let Some(value) = self.literal() {
            return Some(Expr::Lit(value));
        }
        if self.eat("void 0") {
            return Some(Expr::Lit(Value::Undefined));
        }
        self.ident().map(Expr::Param)
    }

    fn literal(&mut self) -> Option<Value> {
        self.skip_space();
        if let Some((text, rest)) = string_literal(self.rest) {
            self.rest = rest;
            return Some(Value::Str(text));
        }
        let len = self
            .rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        if len == 0 {
            return None;
        }
        let (digits, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(Value::Num(digits.trim_start_matches('0').to_owned()).normalized())
    }

    /// `{"a":"x",12:"y",b:"z"}`: keys and value expressions.
    fn map(&mut self, depth: usize) -> Option<Vec<(Value, Expr)>> {
        self.eat("{").then_some(())?;
        let mut entries = Vec::new();
        if self.eat("}") {
            return Some(entries);
        }
        loop {
            let key = match self.literal() {
                Some(Value::Str(s)) => key_value(s),
                Some(v) => v,
                None => key_value(self.ident()?),
            };
            self.eat(":").then_some(())?;
            entries.push((key, self.expr(depth + 1)?));
            if self.eat("}") {
                return Some(entries);
            }
            self.eat(",").then_some(())?;
        }
    }
}

/// An object key: JavaScript makes `{"12":…}` and `{12:…}` the same key.
fn key_value(text: String) -> Value {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0')
        || text == "0"
    {
        Value::Num(text)
    } else {
        Value::Str(text)
    }
}

/// A `"…"` or `'…'` literal at the start of `text` (simple escapes only), and the
/// text after it.
fn string_literal(text: &str) -> Option<(String, &str)> {
    let quote = text.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let mut out = String::new();
    let mut chars = text[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Some((out, &text[1 + i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' | 'r' | 't' | 'u' | 'x' => return None,
                escaped => out.push(escaped),
            },
            '\n' => return None,
            c => out.push(c),
        }
    }
    None
}

/// Relative specifiers (`./`, `../`, `/`) of static and dynamic imports and of
/// `new URL(…, import.meta.url)`.
fn import_specifiers(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut take = |rest: &str| {
        if let Some((spec, _)) = string_literal(rest.trim_start())
            && (spec.starts_with("./") || spec.starts_with("../") || spec.starts_with('/'))
            && !spec.starts_with("//")
        {
            found.push(spec);
        }
    };
    for (at, _) in text.match_indices("import") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '.')) {
            continue;
        }
        let after = text[at + "import".len()..].trim_start();
        if let Some(call) = after.strip_prefix('(') {
            take(call);
        } else if after.starts_with(['"', '\'']) {
            take(after);
        }
    }
    for (at, _) in text.match_indices("from") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_whitespace() || c == '}' || c == '*') {
            take(&text[at + "from".len()..]);
        }
    }
    for (at, _) in text.match_indices("new URL(") {
        let rest = &text[at + "new URL(".len()..];
        if let Some((_, after)) = string_literal(rest.trim_start())
            && after
                .trim_start()
                .strip_prefix(',')
                .is_some_and(|base| base.trim_start().starts_with("import.meta.url"))
        {
            take(rest);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_remote_entry_names_its_chunks_and_style() {
        let named = parse(include_str!(
            "../../examples/monorepo/packages/checkout/dist/remoteEntry.js"
        ));
        assert_eq!(
            named.chunks,
            [
                "__federation_expose_Cart.962a652306222a7395b2.css",
                "__federation_expose_Cart.c034d5ea579b404b5d87.js",
                "items.2738bcefd8210fa92271.js",
                "totals.fd1aefea971e49b27699.js",
            ]
        );
        assert_eq!(named.public_path, None);
        assert!(named.unchecked.is_empty(), "{:?}", named.unchecked);
    }

    #[test]
    fn chunk_maps_with_named_ids_and_conditionals_are_evaluated() {
        let js =
            r#"__webpack_require__.u=e=>(574===e?"footer":e)+"."+{537:"aa",574:"bb"}[e]+".js";"#;
        assert_eq!(parse(js).chunks, ["537.aa.js", "footer.bb.js"]);
        let js = r#"rspackChunk;c.k=e=>"w.cc.css",c.u=e=>""+({380:"details",941:"w"})[e]+"."+({380:"f6",941:"8e"})[e]+".js",c.k=3"#;
        assert_eq!(parse(js).chunks, ["details.f6.js", "w.8e.js", "w.cc.css"]);
        assert!(parse(js).unchecked.is_empty());
        let js = r#"var __webpack_require__={};__webpack_require__.u = function(chunkId) { return "js/" + chunkId + "." + {"src_a_js":"1f"}[chunkId] + ".js"; };"#;
        assert_eq!(parse(js).chunks, ["js/src_a_js.1f.js"]);
    }

    #[test]
    fn styles_named_by_id_alone_are_not_guessed() {
        let js = r#"webpackChunk;o.miniCssF=e=>e+".a8bf.css",o.o=1"#;
        let named = parse(js);
        assert!(named.chunks.is_empty());
        assert_eq!(named.unchecked.len(), 1);
    }

    #[test]
    fn es_module_imports_are_relative_specifiers_only() {
        let js = r#"import {a} from "./shared-Ab12.js";import"./side.js";const m=()=>import('../x/expose-Cd34.js');
            import React from "react";const u=new URL("./logo-9f.svg",import.meta.url);fetch("./data.json");"#;
        assert_eq!(
            parse(js).imports,
            [
                "../x/expose-Cd34.js",
                "./logo-9f.svg",
                "./shared-Ab12.js",
                "./side.js"
            ]
        );
    }

    #[test]
    fn odd_scripts_end_without_a_panic_or_a_name() {
        for js in [
            "__webpack_require__.u=",
            "__webpack_require__.u=e=>((((",
            "__webpack_require__.u=e=>{1:\"a\"",
            "__webpack_require__.u=e=>\"\\u0041.js\"",
            "import(",
            "from '",
            "new URL(\"",
        ] {
            let named = parse(js);
            assert!(named.chunks.is_empty(), "{js}");
        }
    }
}
