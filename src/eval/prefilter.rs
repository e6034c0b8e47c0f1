//! Pre-selection for evaluating many rules over many events.
//!
//! For each rule, the leading filters are reduced to a necessary
//! condition: a tree of AND/OR over three kinds of atoms, each answered
//! once per event for all rules together —
//! - "the event contains literal `lit`" (case-folded), from one
//!   Aho-Corasick pass over the event;
//! - "the raw text has segment `seg`" (Splunk segmentation, see
//!   [`terms::segments`]), for bare terms and `TERM()`;
//! - "field `f` has a value with key `k`" (see [`index_key`]), for
//!   `f=v`/`IN` without wildcards.
//!
//! A rule then runs only on events whose atoms satisfy its condition. The condition is necessary, never
//! sufficient: every event it lets through is evaluated in full, and no
//! event it rejects could have passed.
//!
//! Soundness rests on the haystack: the event's raw text plus every field
//! value, ASCII-lower-cased (with the non-ASCII characters whose case
//! folding or lower-casing yields an ASCII letter — U+212A KELVIN SIGN,
//! U+017F LONG S, U+0130 DOTTED CAPITAL I — mapped to `k`, `s`, `i`),
//! and on literals being ASCII runs of what every
//! match must contain: a term's text, a `=`/`IN`/`like` value's longest
//! wildcard-free piece, a regex's required literal runs.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::AhoCorasick;
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::events::Event;
use crate::ir::{CmpOp, Logic, Wildcard};

use super::filter::{bare_number, index_key, CCmp, CExpr, Pat};

use super::terms;

/// A fast non-cryptographic hash (Fx-style multiply-rotate) for the
/// per-event segment and value lookups, the hottest maps here. Crafted
/// events could collide keys and slow evaluation down, never change it.
#[derive(Clone, Copy, Default)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Literals shorter than this make no requirement (too common to help).
const MIN_LEN: usize = 3;

/// A necessary condition over literal ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Req {
    /// No requirement.
    True,
    /// The literal with this id must be present.
    Lit(usize),
    /// The raw-text segment with this id must be present.
    Tok(usize),
    /// The field value with this id must be present.
    Field(usize),
    /// All must hold.
    And(Vec<Req>),
    /// One must hold.
    Or(Vec<Req>),
}

impl Req {
    /// All of `items` (trivial ones dropped).
    pub fn and(items: Vec<Req>) -> Req {
        let mut v: Vec<Req> = items.into_iter().filter(|r| *r != Req::True).collect();
        match v.len() {
            0 => Req::True,
            1 => v.pop().unwrap_or(Req::True),
            _ => Req::And(v),
        }
    }

    /// One of `items` (true when any is trivially true).
    pub fn or(items: Vec<Req>) -> Req {
        if items.is_empty() || items.contains(&Req::True) {
            return Req::True;
        }
        let mut v = items;
        if v.len() == 1 {
            v.pop().unwrap_or(Req::True)
        } else {
            Req::Or(v)
        }
    }

    /// Whether the condition holds for an event's atoms.
    pub fn holds(&self, bits: &Bits) -> bool {
        let has = |set: &[u64], i: usize| set.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0);
        match self {
            Req::True => true,
            Req::Lit(i) => has(&bits.lit, *i),
            Req::Tok(i) => has(&bits.tok, *i),
            Req::Field(i) => has(&bits.field, *i),
            Req::And(v) => v.iter().all(|r| r.holds(bits)),
            Req::Or(v) => v.iter().any(|r| r.holds(bits)),
        }
    }
}

/// Collects literals from many rules and assigns them ids.
#[derive(Default)]
pub struct Builder {
    /// (scope, literal) -> id; scope `None` is the raw text, `Some(f)` the
    /// values of field `f`.
    ids: HashMap<(Option<String>, String), usize>,
    /// Literal text by id.
    lits: Vec<String>,
    /// Scope by id.
    lit_scopes: Vec<Option<String>>,
    /// The scope literals are currently collected for.
    scope: Option<String>,
    /// (seq-aware, folded segment) → id.
    toks: HashMap<(bool, String), usize>,
    /// field → value key → id.
    fields: HashMap<String, HashMap<String, usize>>,
    n_fields: usize,
}

/// For each atom, the sorted list of events that satisfy it: candidate
/// sets of a condition are then unions and intersections of short lists,
/// without testing every event against every rule.
pub struct Postings {
    lit: Vec<Vec<u32>>,
    tok: Vec<Vec<u32>>,
    field: Vec<Vec<u32>>,
}

impl Postings {
    /// Transposes per-event atom sets.
    pub fn new(bits: &[Bits]) -> Postings {
        let width = |f: fn(&Bits) -> &Vec<u64>| bits.first().map_or(0, |b| f(b).len() * 64);
        let mut p = Postings {
            lit: vec![Vec::new(); width(|b| &b.lit)],
            tok: vec![Vec::new(); width(|b| &b.tok)],
            field: vec![Vec::new(); width(|b| &b.field)],
        };
        for (e, b) in bits.iter().enumerate() {
            for (set, lists) in [
                (&b.lit, &mut p.lit),
                (&b.tok, &mut p.tok),
                (&b.field, &mut p.field),
            ] {
                for (w, word) in set.iter().enumerate() {
                    let mut x = *word;
                    while x != 0 {
                        let bit = x.trailing_zeros() as usize;
                        x &= x - 1;
                        if let Some(l) = lists.get_mut(w * 64 + bit) {
                            l.push(e as u32);
                        }
                    }
                }
            }
        }
        p
    }

    /// The events that can satisfy `req`; `None` = every event.
    pub fn candidates(&self, req: &Req) -> Option<Vec<u32>> {
        self.walk(req).map(std::borrow::Cow::into_owned)
    }

    fn walk(&self, req: &Req) -> Option<std::borrow::Cow<'_, [u32]>> {
        use std::borrow::Cow;
        fn get(lists: &[Vec<u32>], i: usize) -> Cow<'_, [u32]> {
            Cow::Borrowed(lists.get(i).map_or(&[][..], Vec::as_slice))
        }
        match req {
            Req::True => None,
            Req::Lit(i) => Some(get(&self.lit, *i)),
            Req::Tok(i) => Some(get(&self.tok, *i)),
            Req::Field(i) => Some(get(&self.field, *i)),
            Req::And(v) => {
                let mut sets: Vec<Cow<'_, [u32]>> = v.iter().filter_map(|r| self.walk(r)).collect();
                sets.sort_by_key(|s| s.len());
                let mut it = sets.into_iter();
                let first = it.next()?;
                Some(it.fold(first, |acc, s| Cow::Owned(intersect(&acc, &s))))
            }
            Req::Or(v) => {
                let mut parts = Vec::with_capacity(v.len());
                for r in v {
                    parts.push(self.walk(r)?);
                }
                if parts.len() == 1 {
                    return parts.pop();
                }
                let mut out: Vec<u32> = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
                for p in &parts {
                    out.extend_from_slice(p);
                }
                out.sort_unstable();
                out.dedup();
                Some(Cow::Owned(out))
            }
        }
    }
}

/// Intersection of two sorted lists.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The atoms an event satisfies, as bit sets by id.
#[derive(Clone, Debug, Default)]
pub struct Bits {
    lit: Vec<u64>,
    tok: Vec<u64>,
    field: Vec<u64>,
    /// The raw text case-folded as the term patterns fold it (ASCII
    /// lower-case, KELVIN SIGN and LONG S to `k` and `s`), for fast term
    /// search.
    pub raw_folded: String,
}

fn set_bit(v: &mut [u64], i: usize) {
    if let Some(w) = v.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

/// Case-folds text for the literal haystack and literals alike: ASCII
/// lower-casing plus every non-ASCII character that case folding or
/// `to_lowercase` turns into an ASCII letter.
pub fn fold_into(out: &mut String, s: &str) {
    for c in s.chars() {
        out.push(match c {
            '\u{212A}' => 'k',
            '\u{17F}' => 's',
            '\u{130}' => 'i',
            c => c.to_ascii_lowercase(),
        });
    }
}

/// Case-folds text for segments: exactly the simple case folding the
/// term regexes use, restricted to what can equal an ASCII letter, so a
/// one-segment ASCII term is in the set exactly when its regex matches.
pub fn fold_simple_into(out: &mut String, s: &str) {
    for c in s.chars() {
        out.push(match c {
            '\u{212A}' => 'k',
            '\u{17F}' => 's',
            c => c.to_ascii_lowercase(),
        });
    }
}

impl Builder {
    /// A requirement for a literal every match contains (its longest
    /// ASCII run, when at least [`MIN_LEN`] long).
    pub fn lit(&mut self, s: &str) -> Req {
        let mut folded = String::new();
        fold_into(&mut folded, s);
        let best = folded
            .split(|c: char| !c.is_ascii())
            .max_by_key(|p| p.len())
            .unwrap_or("");
        if best.len() < MIN_LEN {
            return Req::True;
        }
        let next = self.lits.len();
        let key = (self.scope.clone(), best.to_string());
        let id = *self.ids.entry(key).or_insert(next);
        if id == next {
            self.lits.push(best.to_string());
            self.lit_scopes.push(self.scope.clone());
        }
        Req::Lit(id)
    }

    /// A requirement that every ASCII segment of a term be a segment of
    /// the raw text.
    fn segs(&mut self, value: &str, seq_aware: bool) -> Req {
        let mut folded = String::new();
        fold_simple_into(&mut folded, value);
        let mut segs = Vec::new();
        terms::segments(&folded, seq_aware, |s| {
            if s.is_ascii() {
                segs.push(s.to_string());
            }
        });
        let mut v = Vec::new();
        for seg in segs {
            let next = self.toks.len();
            let id = *self.toks.entry((seq_aware, seg)).or_insert(next);
            v.push(Req::Tok(id));
        }
        Req::and(v)
    }

    /// A requirement that `field` hold a value with index key `key`.
    fn field(&mut self, field: &str, key: String) -> Req {
        let next = self.n_fields;
        let id = *self
            .fields
            .entry(field.to_string())
            .or_default()
            .entry(key)
            .or_insert(next);
        if id == next {
            self.n_fields += 1;
        }
        Req::Field(id)
    }

    /// The longest piece of `value` between wildcard characters.
    fn piece(&mut self, value: &str, wild: &[char]) -> Req {
        let best = value
            .split(|c| wild.contains(&c))
            .max_by_key(|p| p.len())
            .unwrap_or("");
        self.lit(best)
    }

    /// The necessary literal condition of a compiled filter.
    pub fn expr(&mut self, e: &CExpr) -> Req {
        match e {
            CExpr::And(cs) => {
                let v = cs.iter().map(|c| self.expr(c)).collect();
                Req::and(v)
            }
            CExpr::Or(cs) => {
                let v = cs.iter().map(|c| self.expr(c)).collect();
                Req::or(v)
            }
            // Nothing is required of what must be absent.
            CExpr::Not(_) | CExpr::Scalar(..) => Req::True,
            CExpr::Term(t) => {
                // KQL `search` terms use other boundaries: literal only.
                let req = if t.value.contains('*') || t.kql {
                    self.piece(&t.value, &['*'])
                } else {
                    self.segs(&t.value, t.whole_token)
                };
                // One plain ASCII segment, case-insensitive: the segment set
                // answers exactly what the regex would.
                let v = t.value.trim();
                let exact = !t.kql
                    && !t.whole_token
                    && !t.case_sensitive
                    && !v.is_empty()
                    && v.is_ascii()
                    && !v.chars().any(terms::is_breaker);
                if req != Req::True {
                    let _ = t.atom.set((req.clone(), exact));
                }
                req
            }
            CExpr::Cmp(c) => {
                let req = self.cmp(c);
                if req != Req::True {
                    let _ = c.atom.set(req.clone());
                }
                req
            }
        }
    }

    fn cmp(&mut self, c: &CCmp) -> Req {
        // Literals of a field predicate must occur in that field's values.
        self.scope = (c.field != "_raw").then(|| c.field.clone());
        let req = self.cmp_scoped(c);
        self.scope = None;
        req
    }

    fn cmp_scoped(&mut self, c: &CCmp) -> Req {
        let per_value = |b: &mut Builder, wild: &[char]| -> Vec<Req> {
            c.values
                .iter()
                .map(|l| {
                    if c.logic == Logic::ThreeValued && bare_number(l).is_some() {
                        // Numeric equality: "4688" equals "4688.0".
                        Req::True
                    } else {
                        b.piece(&l.value, wild)
                    }
                })
                .collect()
        };
        let wild: &[char] = match c.flags.wildcard {
            Wildcard::Glob => &['*'],
            Wildcard::Sql => &['%', '_'],
            Wildcard::None => &[],
        };
        match c.op {
            CmpOp::Eq | CmpOp::In if c.field != "_raw" => {
                // Exact values: the field-value atom; patterns: a literal.
                let mut v = Vec::new();
                for (l, p) in c.values.iter().zip(c.pats()) {
                    v.push(match p {
                        Pat::Exact { .. } => self.field(&c.field, index_key(&l.value)),
                        _ => self.piece(&l.value, wild),
                    });
                }
                Req::or(v)
            }
            CmpOp::Eq | CmpOp::In => {
                let v = per_value(self, wild);
                Req::or(v)
            }
            CmpOp::Like => {
                let v = per_value(self, &['%', '_']);
                Req::or(v)
            }
            CmpOp::Contains | CmpOp::StartsWith | CmpOp::EndsWith => {
                let v = per_value(self, &[]);
                Req::or(v)
            }
            CmpOp::Has => {
                let v = per_value(self, &[]);
                if c.flags.all {
                    Req::and(v)
                } else {
                    Req::or(v)
                }
            }
            CmpOp::Match => {
                let Some(lit) = c.values.first() else {
                    return Req::True;
                };
                let parsed = regex_syntax::ParserBuilder::new()
                    .case_insensitive(!c.flags.case_sensitive)
                    .build()
                    .parse(&lit.value);
                match parsed {
                    Ok(hir) => self.hir(&hir),
                    // PCRE-only syntax: no requirement rather than a guess.
                    Err(_) => Req::True,
                }
            }
            CmpOp::Ne
            | CmpOp::Lt
            | CmpOp::Le
            | CmpOp::Gt
            | CmpOp::Ge
            | CmpOp::Between
            | CmpOp::IsNull
            | CmpOp::IsNotNull => Req::True,
        }
    }

    /// Required literal runs of a regex.
    fn hir(&mut self, h: &Hir) -> Req {
        match h.kind() {
            HirKind::Concat(items) => {
                let mut out = Vec::new();
                let mut run = String::new();
                for it in items {
                    match char_like(it) {
                        Some(s) => run.push_str(&s),
                        None => {
                            if !run.is_empty() {
                                out.push(self.lit(&run));
                                run.clear();
                            }
                            out.push(self.hir(it));
                        }
                    }
                }
                if !run.is_empty() {
                    out.push(self.lit(&run));
                }
                Req::and(out)
            }
            HirKind::Alternation(items) => {
                let v = items.iter().map(|i| self.hir(i)).collect();
                Req::or(v)
            }
            HirKind::Repetition(rep) if rep.min >= 1 => self.hir(&rep.sub),
            HirKind::Capture(cap) => self.hir(&cap.sub),
            HirKind::Literal(_) | HirKind::Class(_) => match char_like(h) {
                Some(s) => self.lit(&s),
                None => Req::True,
            },
            _ => Req::True,
        }
    }

    /// The literals collected, by id.
    pub fn literals(&self) -> &[String] {
        &self.lits
    }

    /// Builds the matcher for every atom collected.
    pub fn finish(self) -> Prefilter {
        // One automaton over the distinct literal texts; each pattern maps
        // to the (scope, id) pairs that use it.
        let mut texts: Vec<String> = Vec::new();
        let mut by_text: HashMap<String, usize> = HashMap::new();
        let mut targets: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut scopes: Vec<Option<String>> = vec![None];
        let mut scope_ix: HashMap<Option<String>, usize> = HashMap::new();
        scope_ix.insert(None, 0);
        for (id, (text, scope)) in self.lits.iter().zip(&self.lit_scopes).enumerate() {
            let p = *by_text.entry(text.clone()).or_insert_with(|| {
                texts.push(text.clone());
                targets.push(Vec::new());
                texts.len() - 1
            });
            let sc = *scope_ix.entry(scope.clone()).or_insert_with(|| {
                scopes.push(scope.clone());
                scopes.len() - 1
            });
            targets[p].push((sc, id));
        }
        let ac = if texts.is_empty() {
            None
        } else {
            AhoCorasick::new(&texts).ok()
        };
        // Field name -> scopes it answers for (data-model names also under
        // their CIM name, as for field atoms).
        let mut scope_slots: FxMap<String, Vec<usize>> = FxMap::default();
        for (i, sc) in scopes.iter().enumerate() {
            if let Some(name) = sc {
                if let Some((_, short)) = name.rsplit_once('.') {
                    scope_slots.entry(short.to_string()).or_default().push(i);
                }
                scope_slots.entry(name.clone()).or_default().push(i);
            }
        }
        // Without a matcher, every literal must count as present.
        let all_lits = ac.is_none() && !self.lits.is_empty();
        let mut toks: [FxMap<String, usize>; 2] = Default::default();
        for ((seq, seg), id) in self.toks {
            toks[usize::from(seq)].insert(seg, id);
        }
        let mut fields = Vec::new();
        let mut field_slots: FxMap<String, Vec<usize>> = FxMap::default();
        for (name, keys) in self.fields {
            let slot = fields.len();
            fields.push(keys.into_iter().collect::<FxMap<_, _>>());
            if let Some((_, short)) = name.rsplit_once('.') {
                field_slots.entry(short.to_string()).or_default().push(slot);
            }
            field_slots.entry(name).or_default().push(slot);
        }
        Prefilter {
            ac,
            all_lits,
            targets,
            scope_slots,
            n: self.lits.len(),
            n_toks: toks[0].len() + toks[1].len(),
            toks,
            fields,
            field_slots,
            n_fields: self.n_fields,
        }
    }
}

/// The text a regex node always matches, when it is one fixed string up
/// to case: a literal, or a class of case variants of one character.
fn char_like(h: &Hir) -> Option<String> {
    match h.kind() {
        HirKind::Literal(lit) => std::str::from_utf8(&lit.0).ok().map(str::to_string),
        HirKind::Class(Class::Unicode(cls)) => {
            let mut folded: Option<char> = None;
            let mut count = 0u32;
            for r in cls.iter() {
                count += r.end() as u32 - r.start() as u32 + 1;
                if count > 4 {
                    return None;
                }
                for c in r.start()..=r.end() {
                    let mut s = String::new();
                    fold_into(&mut s, c.encode_utf8(&mut [0; 4]));
                    let f = s.chars().next()?;
                    match folded {
                        None => folded = Some(f),
                        Some(g) if g == f => {}
                        Some(_) => return None,
                    }
                }
            }
            folded.map(String::from)
        }
        _ => None,
    }
}

/// The matcher for all rules' atoms.
pub struct Prefilter {
    ac: Option<AhoCorasick>,
    all_lits: bool,
    /// Per automaton pattern: the (scope, literal id) pairs using it.
    targets: Vec<Vec<(usize, usize)>>,
    /// Event field name -> literal scopes it answers for (scope 0 = raw).
    scope_slots: FxMap<String, Vec<usize>>,
    n: usize,
    /// Plain and seq-aware segment → id.
    toks: [FxMap<String, usize>; 2],
    n_toks: usize,
    /// Per registered field: value key → id.
    fields: Vec<FxMap<String, usize>>,
    /// Event field name → registered fields it answers for.
    field_slots: FxMap<String, Vec<usize>>,
    n_fields: usize,
}

impl Prefilter {
    /// Which atoms an event satisfies.
    pub fn scan(&self, e: &Event) -> Bits {
        let mut bits = Bits {
            lit: vec![0u64; self.n.div_ceil(64)],
            tok: vec![0u64; self.n_toks.div_ceil(64)],
            field: vec![0u64; self.n_fields.div_ceil(64)],
            raw_folded: String::new(),
        };
        let mut raw = String::with_capacity(e.raw.len());
        fold_simple_into(&mut raw, &e.raw);
        if !self.toks[0].is_empty() || !self.toks[1].is_empty() {
            terms::segments_both(&raw, |s, plain, seq| {
                for (on, map) in [(plain, &self.toks[0]), (seq, &self.toks[1])] {
                    if on {
                        if let Some(&i) = map.get(s) {
                            set_bit(&mut bits.tok, i);
                        }
                    }
                }
            });
        }
        // Walk the event's fields (few) rather than the registered ones
        // (many). A data-model name (`Processes.process_name`) is also
        // registered under its CIM name, as `tstats` reads it.
        for (name, values) in &e.fields {
            let Some(slots) = self.field_slots.get(name.as_str()) else {
                continue;
            };
            for v in values {
                let key = index_key(v);
                for &slot in slots {
                    if let Some(&i) = self.fields[slot].get(&key) {
                        set_bit(&mut bits.field, i);
                    }
                }
            }
        }
        if self.all_lits {
            bits.lit.iter_mut().for_each(|w| *w = u64::MAX);
        } else if let Some(ac) = &self.ac {
            let mut hay = String::with_capacity(e.raw.len());
            fold_into(&mut hay, &e.raw);
            let mark = |hay: &str, allowed: &[usize], bits: &mut Bits| {
                for m in ac.find_overlapping_iter(hay) {
                    for &(sc, id) in &self.targets[m.pattern().as_usize()] {
                        if allowed.contains(&sc) {
                            set_bit(&mut bits.lit, id);
                        }
                    }
                }
            };
            mark(&hay, &[0], &mut bits);
            for (name, values) in &e.fields {
                let Some(allowed) = self.scope_slots.get(name.as_str()) else {
                    continue;
                };
                for v in values {
                    hay.clear();
                    fold_into(&mut hay, v);
                    mark(&hay, allowed, &mut bits);
                }
            }
        }
        bits.raw_folded = raw;
        bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;
    use crate::ir::{Cmp, Expr, Flags, Literal, Term};
    use crate::rule::Language;

    use super::super::filter::{compile, Source};

    fn req(e: &Expr, logic: Logic) -> (Req, Vec<String>) {
        let src = Source {
            lang: Language::Splunk,
            text: "",
            offset: 0,
        };
        let c = compile(e, logic, &src).unwrap();
        let mut b = Builder::default();
        let r = b.expr(&c);
        (r, b.literals().to_vec())
    }

    fn cmp(op: CmpOp, v: &str, flags: Flags) -> Expr {
        Expr::Cmp(Cmp {
            field: "f".into(),
            op,
            values: vec![Literal {
                raw: format!("\"{v}\""),
                value: v.into(),
            }],
            flags,
            span: Span::default(),
        })
    }

    #[test]
    fn literals_from_terms_globs_and_regexes() {
        let t = Expr::Term(Term {
            text: "x".into(),
            value: "*MimiKatz*".into(),
            whole_token: false,
            case_sensitive: false,
            span: Span::default(),
        });
        assert_eq!(req(&t, Logic::Search).1, vec!["mimikatz"]);
        let plain = Expr::Term(Term {
            text: "x".into(),
            value: "cmd.exe".into(),
            whole_token: false,
            case_sensitive: false,
            span: Span::default(),
        });
        assert_eq!(
            req(&plain, Logic::Search).0,
            Req::And(vec![Req::Tok(0), Req::Tok(1)])
        );
        let g = Flags {
            wildcard: Wildcard::Glob,
            ..Flags::default()
        };
        assert_eq!(
            req(&cmp(CmpOp::Eq, "*\\cmd.exe", g), Logic::Search).1,
            vec!["\\cmd.exe"]
        );
        let (r, lits) = req(
            &cmp(
                CmpOp::Match,
                "(?i)\\x5cnetscan(32|64)?\\.exe",
                Flags::default(),
            ),
            Logic::ThreeValued,
        );
        assert_eq!(lits, vec!["\\netscan", ".exe"]);
        assert_eq!(r, Req::And(vec![Req::Lit(0), Req::Lit(1)]));
        // Alternation → Or; short literals require nothing.
        let (r, _) = req(
            &cmp(CmpOp::Match, "abcd|xy", Flags::default()),
            Logic::ThreeValued,
        );
        assert_eq!(r, Req::True);
        // Negation requires nothing.
        let n = Expr::Not {
            child: Box::new(cmp(CmpOp::Eq, "abcdef", g)),
        };
        assert_eq!(req(&n, Logic::Search).0, Req::True);
    }

    #[test]
    fn scan_finds_literals_case_folded_in_raw_and_fields() {
        let mut b = Builder::default();
        let a = b.lit("NETSCAN");
        b.scope = Some("path".into());
        let c = b.lit("portable");
        // Scoped to `path`: the same text in another field does not count.
        b.scope = Some("other".into());
        let c2 = b.lit("portable");
        b.scope = Some("odd".into());
        let k = b.lit("kelvin");
        b.scope = None;
        let t = b.segs("Netscan.EXE", false);
        let t2 = b.segs("netscan64", false);
        let f = b.field("path", index_key("c:\\NETSCAN_portable"));
        let p = b.finish();
        let mut e = Event {
            raw: "<Data>C:\\X\\NetScan.exe</Data>".into(),
            ..Event::default()
        };
        e.set("path", "C:\\netscan_PORTABLE");
        e.set("odd", "\u{212A}elvin");
        let bits = p.scan(&e);
        assert!(a.holds(&bits));
        assert!(c.holds(&bits));
        assert!(!c2.holds(&bits));
        assert!(k.holds(&bits));
        assert!(!Req::Lit(5).holds(&bits));
        assert!(t.holds(&bits));
        assert!(!t2.holds(&bits));
        assert!(f.holds(&bits));
        let post = Postings::new(&[bits.clone(), Bits::default()]);
        assert_eq!(post.candidates(&a), Some(vec![0]));
        assert_eq!(post.candidates(&Req::True), None);
        assert_eq!(
            post.candidates(&Req::And(vec![a.clone(), t2.clone()])),
            Some(vec![])
        );
        assert_eq!(post.candidates(&Req::Or(vec![a, t2])), Some(vec![0]));
    }
}
