/// Text taken from a file (a tensor name, a record name, a key), made safe to put into an error
/// message: control characters cannot move the cursor, clear the screen, change colours or reorder
/// the line, and a long text cannot make the message long.
///
/// C0 controls (U+0000–U+001F), DEL (U+007F), C1 controls (U+0080–U+009F) and the Unicode bidi
/// controls (U+202A–U+202E, U+2066–U+2069) are written as `\u{XX}`: the code point in hexadecimal,
/// at least two digits.
/// At most `limit` Unicode scalars of the text are shown; a longer text ends with a note of how many
/// were cut, as in `abc… (1234 more characters)`. Only the shown part is scanned for escapes, so the
/// cost is bounded by `limit` plus one count of the rest.
public func untrustedText(_ text: String, limit: Int = 120) -> String {
    let limit = max(0, limit)
    var result = ""
    var shown = 0
    var index = text.unicodeScalars.startIndex
    let end = text.unicodeScalars.endIndex
    while index < end, shown < limit {
        let scalar = text.unicodeScalars[index]
        if isUnsafeInMessages(scalar) {
            let hex = String(scalar.value, radix: 16, uppercase: true)
            result += "\\u{" + (hex.count < 2 ? "0" + hex : hex) + "}"
        } else {
            result.unicodeScalars.append(scalar)
        }
        shown += 1
        index = text.unicodeScalars.index(after: index)
    }
    if index < end {
        let cut = text.unicodeScalars[index...].count
        result += "… (\(cut) more character\(cut == 1 ? "" : "s"))"
    }
    return result
}

/// Whether `scalar` is a control or bidi control character that `untrustedText` escapes.
private func isUnsafeInMessages(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: true
    default: false
    }
}
