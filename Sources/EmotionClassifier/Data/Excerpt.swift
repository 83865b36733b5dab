import Foundation

/// Short, escaped excerpts of file contents for error messages: an error about a file that is not what
/// was expected (say `--data /etc/shadow`) must describe the problem, not print the file.
enum Excerpt {
    /// At most `limit` characters of `text`, control and non-printing characters escaped (`\r`, `\u{0}`),
    /// with `…` when cut, in double quotes.
    static func quoted(_ text: String, limit: Int = 24) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < limit else { out += "…"; break }
            switch scalar {
            case "\r": out += "\\r"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.properties.generalCategory == .format
                    || scalar.properties.generalCategory == .unassigned || scalar.properties.generalCategory == .privateUse {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
            count += 1
        }
        return "\"" + out + "\""
    }
}
