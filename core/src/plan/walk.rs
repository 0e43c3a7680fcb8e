//! A payload checked as its JSON text is read, in one pass: what
//! [`Schema::check_root`] does on a [`View`] of the text, without building
//! the view first (no allocation per object, no second walk, no view to
//! drop). That is most of what a planned `track` costs (core/benches/plan.rs).
//!
//! It decides only the order of reading; every rule stays `schema`'s, and
//! violations come in the view's order (an object's `required` ones before
//! its members', an array's counts before its items'). A value whose rules
//! need it whole (`false`, `$ref`, `enum` or `const` on an object or an
//! array, an object or an array where the plan wants another type) is read
//! into a view and checked there. Text whose object keys are not sorted and
//! unique makes the pass give up (`None`, nothing added): cairn writes every
//! call's payload that way, and the view, which sorts, judges anything else.
//! The two give the same verdict (plan/tests.rs checks every case both ways).

use super::*;
use crate::plan::view::{Reader, MAX_DEPTH};

/// The order of two names, byte by byte: `str`'s own, without a call to
/// `memcmp` for names a few bytes long (it was a tenth of a check).
fn order(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

impl Schema {
    /// Checks the payload `text` (the `properties` or `traits` object) found
    /// at `path`, adding what it breaks to `found`: the verdict
    /// [`check_root`](Self::check_root) gives on its view. `None` when the
    /// text is not in cairn's order; `found` is then as it was.
    pub(crate) fn walk_root(
        &self,
        defs: &[Schema],
        text: &str,
        path: &str,
        found: &mut Vec<Violation>,
    ) -> Option<()> {
        let start = found.len();
        let mut out = Out {
            root: path,
            // Room for the usual nesting, so walking the payload does not grow it.
            steps: Vec::with_capacity(8),
            found,
        };
        let mut r = Reader::new(text);
        let read = self.walk(defs, &mut r, &mut out, 0).filter(|()| r.at_end());
        if read.is_none() {
            found.truncate(start);
        }
        read
    }

    fn walk<'w>(
        &'w self,
        defs: &'w [Schema],
        r: &mut Reader<'w>,
        out: &mut Out<'_, 'w>,
        depth: usize,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let kind = match r.ws()? {
            b'{' => OBJECT,
            b'[' => ARRAY,
            _ => 0,
        };
        let whole = self.never
            || self.reference.is_some()
            || (kind != 0
                && (self.one_of.is_some()
                    || self.constant.is_some()
                    || (self.types != 0 && self.types & kind == 0)));
        if whole {
            let v = r.value(depth)?;
            let at = out.path();
            let mut here = Out {
                root: &at,
                steps: Vec::new(),
                found: &mut *out.found,
            };
            self.check(defs, &v, &mut here);
            return Some(());
        }
        match kind {
            OBJECT => self.walk_object(defs, r, out, depth),
            ARRAY => self.walk_array(defs, r, out, depth),
            _ => {
                self.check_own(&r.value(depth)?, out);
                Some(())
            }
        }
    }

    fn walk_object<'w>(
        &'w self,
        defs: &'w [Schema],
        r: &mut Reader<'w>,
        out: &mut Out<'_, 'w>,
        depth: usize,
    ) -> Option<()> {
        // Which declared members were seen, and which of the required ones
        // that are not declared, by position; more than 64 is no plan
        // anyone writes, and the view checks it.
        if self.required.len() > 64 || self.properties.len() > 64 {
            return None;
        }
        let undeclared_required = self.required_at.iter().any(Option::is_none);
        let (mut seen, mut seen_undeclared): (u64, u64) = (0, 0);
        let start = out.found.len();
        let members = !(self.properties.is_empty()
            && matches!(self.additional, Additional::Unsaid | Additional::Allow));
        // Both in order by name: one merge, no search per member.
        let mut at = 0;
        let mut last: Option<Cow<'w, str>> = None;
        r.bump();
        if r.ws()? == b'}' {
            r.bump();
        } else {
            loop {
                if r.ws()? != b'"' {
                    return None;
                }
                let key = r.string()?;
                if last
                    .as_deref()
                    .is_some_and(|l| order(l, &key) != Ordering::Less)
                {
                    return None;
                }
                r.eat(b':')?;
                if undeclared_required {
                    for (i, at) in self.required_at.iter().enumerate() {
                        if at.is_none() && self.required.get(i).is_some_and(|n| **n == *key) {
                            seen_undeclared |= 1 << i;
                        }
                    }
                }
                let name: &str = &key;
                // The declared names up to this key; the comparison that
                // stops there also says whether it is declared.
                let mut own = None;
                while let Some((d, s)) = self.properties.get(at) {
                    match order(d, name) {
                        Ordering::Less => at += 1,
                        Ordering::Equal => {
                            seen |= 1 << at;
                            at += 1;
                            own = Some(s);
                            break;
                        }
                        Ordering::Greater => break,
                    }
                }
                let mut rules = None;
                if members {
                    rules = match (own, &self.additional) {
                        (Some(s), _) => Some(s),
                        (None, Additional::Schema(s)) => Some(&**s),
                        (None, Additional::Deny) => {
                            out.steps.push(Step::Member(key.clone()));
                            out.add("additionalProperties", "not in the tracking plan".into());
                            out.steps.pop();
                            None
                        }
                        (None, _) => None,
                    };
                }
                last = match rules {
                    Some(s) => {
                        out.steps.push(Step::Member(key));
                        s.walk(defs, r, out, depth + 1)?;
                        match out.steps.pop() {
                            Some(Step::Member(key)) => Some(key),
                            _ => None,
                        }
                    }
                    None => {
                        r.skip(depth + 1)?;
                        Some(key)
                    }
                };
                match r.ws()? {
                    b',' => r.bump(),
                    b'}' => {
                        r.bump();
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let before = out.found.len();
        for (i, (name, at)) in self.required.iter().zip(&self.required_at).enumerate() {
            let present = match at {
                Some(j) => seen & (1 << j) != 0,
                None => seen_undeclared & (1 << i) != 0,
            };
            if !present {
                out.steps.push(Step::Member(Cow::Borrowed(name)));
                out.add("required", "required by the plan, missing".into());
                out.steps.pop();
            }
        }
        // The view reports them before the members' own.
        let missing = out.found.len() - before;
        out.found.get_mut(start..)?.rotate_right(missing);
        Some(())
    }

    fn walk_array<'w>(
        &'w self,
        defs: &'w [Schema],
        r: &mut Reader<'w>,
        out: &mut Out<'_, 'w>,
        depth: usize,
    ) -> Option<()> {
        let start = out.found.len();
        let mut n = 0usize;
        r.bump();
        if r.ws()? == b']' {
            r.bump();
        } else {
            loop {
                match &self.items {
                    Some(item) => {
                        out.steps.push(Step::Item(n));
                        item.walk(defs, r, out, depth + 1)?;
                        out.steps.pop();
                    }
                    None => r.skip(depth + 1)?,
                }
                n += 1;
                match r.ws()? {
                    b',' => r.bump(),
                    b']' => {
                        r.bump();
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let before = out.found.len();
        self.check_count(n as u64, out);
        // The view reports the counts before the items' own.
        let counted = out.found.len() - before;
        out.found.get_mut(start..)?.rotate_right(counted);
        Some(())
    }
}
