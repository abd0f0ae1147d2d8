//! Where in the policy text an error is: the value a JSON path names (or,
//! when the path ends at something absent, the deepest value it reaches), as
//! a byte range with its line and column, so an editor can mark it and a
//! command line can print `file:line:column`.

use std::ops::Range;

/// A place in the policy text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// The byte range of the value (empty at a syntax error's position).
    pub bytes: Range<usize>,
}

impl Location {
    /// The place of byte `start`, spanning `start..end`.
    pub(crate) fn of(text: &str, bytes: Range<usize>) -> Location {
        let start = floor_char_boundary(text, bytes.start);
        let end = floor_char_boundary(text, bytes.end.max(start));
        let before = &text[..start];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: text[line_start..start].chars().count() + 1,
            bytes: start..end,
        }
    }

    /// A syntax error's place, from serde_json's line and column (both
    /// from 1; the column counts bytes).
    pub(crate) fn at_line_column(text: &str, line: usize, column: usize) -> Location {
        let line_start = text
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum::<usize>();
        let at = (line_start + column.saturating_sub(1)).min(text.len());
        Location::of(text, at..at)
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One step of a rendered JSON path (`roles[2].rules[0]`).
#[derive(Debug, PartialEq)]
enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

fn steps(path: &str) -> Option<Vec<Step<'_>>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let close = inner.find(']')?;
            out.push(Step::Index(inner[..close].parse().ok()?));
            rest = &inner[close + 1..];
        }
    }
    Some(out)
}

/// The byte range of the value at `path` in `text` (valid JSON), or of the
/// deepest value on the way when the rest of the path is absent.
pub(crate) fn locate(text: &str, path: &str) -> Option<Range<usize>> {
    let steps = steps(path)?;
    let scan = Scanner(text.as_bytes());
    let mut at = scan.ws(0);
    for step in steps {
        match scan.child(at, &step) {
            Some(child) => at = child,
            None => break,
        }
    }
    Some(at..scan.value_end(at)?)
}

/// Just enough of a JSON reader to step through text already known valid.
struct Scanner<'t>(&'t [u8]);

impl Scanner<'_> {
    fn byte(&self, at: usize) -> Option<u8> {
        self.0.get(at).copied()
    }

    fn ws(&self, mut at: usize) -> usize {
        while matches!(self.byte(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            at += 1;
        }
        at
    }

    /// The end of the string starting at `at` (after its closing quote).
    fn string_end(&self, at: usize) -> Option<usize> {
        let mut i = at + 1;
        loop {
            match self.byte(i)? {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
    }

    /// The end of the value starting at `at`.
    fn value_end(&self, at: usize) -> Option<usize> {
        match self.byte(at)? {
            b'"' => self.string_end(at),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                let mut i = self.ws(at + 1);
                if self.byte(i)? == close {
                    return Some(i + 1);
                }
                loop {
                    if open == b'{' {
                        i = self.ws(self.string_end(i)?);
                        i = self.ws(i + 1); // past ':'
                    }
                    i = self.ws(self.value_end(i)?);
                    match self.byte(i)? {
                        b',' => i = self.ws(i + 1),
                        c if c == close => return Some(i + 1),
                        _ => return None,
                    }
                }
            }
            _ => {
                let mut i = at;
                while !matches!(
                    self.byte(i),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    i += 1;
                }
                Some(i)
            }
        }
    }

    /// Where the member or element `step` of the container at `at` starts.
    fn child(&self, at: usize, step: &Step) -> Option<usize> {
        let (open, close) = match step {
            Step::Key(_) => (b'{', b'}'),
            Step::Index(_) => (b'[', b']'),
        };
        if self.byte(at)? != open {
            return None;
        }
        let mut i = self.ws(at + 1);
        let mut index = 0;
        while self.byte(i)? != close {
            let value = match step {
                Step::Key(want) => {
                    let key_end = self.string_end(i)?;
                    let raw = std::str::from_utf8(self.0.get(i..key_end)?).ok()?;
                    let key: String = serde_json::from_str(raw).ok()?;
                    let value = self.ws(self.ws(key_end) + 1);
                    if key == *want {
                        return Some(value);
                    }
                    value
                }
                Step::Index(want) => {
                    if index == *want {
                        return Some(i);
                    }
                    i
                }
            };
            index += 1;
            i = self.ws(self.value_end(value)?);
            if self.byte(i)? == b',' {
                i = self.ws(i + 1);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\n  \"roles\": [\n    {\"name\": \"a\", \"rules\": [{\"paths\": [\"/x\", \"x**\"]}]},\n    {\"n\\u0061me\": \"é\", \"rules\": []}\n  ]\n}";

    fn at(path: &str) -> &'static str {
        &TEXT[locate(TEXT, path).unwrap()]
    }

    #[test]
    fn finds_the_value_a_path_names() {
        assert_eq!(at("roles[0].rules[0].paths[1]"), "\"x**\"");
        assert_eq!(at("roles[0].name"), "\"a\"");
        assert_eq!(at("roles[1].rules"), "[]");
        // Keys are compared unescaped.
        assert_eq!(at("roles[1].name"), "\"é\"");
        assert_eq!(at(""), TEXT);
    }

    #[test]
    fn an_absent_member_marks_the_deepest_value_reached() {
        assert_eq!(
            at("roles[1].required_attributes"),
            "{\"n\\u0061me\": \"é\", \"rules\": []}"
        );
        let roles = at("roles[9]");
        assert!(roles.starts_with("[\n    {\"name\"") && roles.ends_with("]"));
    }

    #[test]
    fn lines_and_columns_count_from_one_in_characters() {
        let range = locate(TEXT, "roles[1].rules").unwrap();
        let loc = Location::of(TEXT, range);
        assert_eq!((loc.line, loc.column), (4, 33));
        assert_eq!(Location::at_line_column(TEXT, 2, 3).bytes, 4..4);
        // Past the end and inside a character are clamped, never a panic.
        assert_eq!(
            Location::at_line_column(TEXT, 99, 99).bytes,
            TEXT.len()..TEXT.len()
        );
        let inside = TEXT.find('é').unwrap() + 1;
        assert_eq!(Location::of(TEXT, inside..inside).bytes.start, inside - 1);
    }

    #[test]
    fn odd_paths_and_text_give_none_or_the_root_never_a_panic() {
        assert_eq!(steps("a[x]"), None);
        assert_eq!(locate("[1, 2", "[5]"), None);
        assert_eq!(locate("{\"a\": ", "a"), None);
        assert_eq!(locate("", "a"), None);
    }
}
