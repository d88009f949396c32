//! A strict RFC 4180 reader shared by the report tests.
#![allow(dead_code)]

/// A strict RFC 4180 reader: CRLF record ends (also after the last record), fields
/// quoted with `"` when they contain `,`, `"`, CR or LF, doubled quotes inside;
/// rejects bare CR/LF outside quotes, quotes inside unquoted fields, characters
/// after a closing quote, an unterminated quote and a missing final CRLF.
pub fn parse_rfc4180(s: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = s.char_indices().peekable();
    #[derive(PartialEq)]
    enum St {
        FieldStart,
        Unquoted,
        Quoted,
        AfterQuote,
    }
    let mut st = St::FieldStart;
    while let Some((i, c)) = chars.next() {
        match st {
            St::Quoted => {
                if c == '"' {
                    if chars.peek().map(|p| p.1) == Some('"') {
                        chars.next();
                        cur.push('"');
                    } else {
                        st = St::AfterQuote;
                    }
                } else {
                    cur.push(c);
                }
            }
            _ => match c {
                '"' if st == St::FieldStart => st = St::Quoted,
                '"' => return Err(format!("quote inside an unquoted field at {i}")),
                ',' => {
                    fields.push(std::mem::take(&mut cur));
                    st = St::FieldStart;
                }
                '\r' => {
                    if chars.next().map(|p| p.1) != Some('\n') {
                        return Err(format!("bare CR at {i}"));
                    }
                    fields.push(std::mem::take(&mut cur));
                    records.push(std::mem::take(&mut fields));
                    st = St::FieldStart;
                }
                '\n' => return Err(format!("bare LF at {i}")),
                _ if st == St::AfterQuote => {
                    return Err(format!("character after closing quote at {i}"))
                }
                c => {
                    cur.push(c);
                    st = St::Unquoted;
                }
            },
        }
    }
    if st == St::Quoted {
        return Err("unterminated quoted field".into());
    }
    if !fields.is_empty() || !cur.is_empty() {
        return Err("last record not terminated by CRLF".into());
    }
    Ok(records)
}
