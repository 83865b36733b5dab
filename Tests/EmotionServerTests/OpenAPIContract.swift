import EmotionServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import OpenAPIKit
import Testing
import Yams

/// openapi.yaml, parsed with Yams + OpenAPIKit and dereferenced, and a small JSON Schema checker for the
/// keywords the document uses (type, nullable type lists, properties, required, additionalProperties,
/// items, minItems, maxItems, enum, oneOf). Every route test passes its answers through `check`.
enum OpenAPIContract {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("openapi.yaml")

    nonisolated(unsafe) private static let loaded: Result<DereferencedDocument, any Error> = Result {
        let text = try String(contentsOf: url, encoding: .utf8)
        let document = try YAMLDecoder().decode(OpenAPI.Document.self, from: text)
        try document.validate()
        return try document.locallyDereferenced()
    }

    static func document() throws -> DereferencedDocument { try loaded.get() }

    struct Violation: Error, CustomStringConvertible { let description: String }

    /// Fails unless `response` is documented for `path` and `method` with its status, content type and
    /// (for JSON) a body that matches the schema.
    static func check(_ response: TestResponse, _ path: String, _ method: OpenAPI.HttpMethod) throws {
        let doc = try document()
        guard let item = doc.paths[OpenAPI.Path(rawValue: path)], let operation = item.for(method) else {
            throw Violation(description: "\(method) \(path) is not in openapi.yaml")
        }
        let code = Int(response.status.code)
        guard let documented = operation.responses[.status(code: code)] else {
            throw Violation(description: "\(method) \(path) answered \(code), which openapi.yaml does not list")
        }
        let contentType = response.headers[.contentType] ?? ""
        guard let (type, content) = documented.content.first(where: { contentType.hasPrefix($0.key.rawValue) }) else {
            throw Violation(description: "\(method) \(path) \(code): content type \(contentType) is not documented")
        }
        guard let schema = content.schema else { return }
        let value: Any
        if type == .json {
            guard let v = try? JSONSerialization.jsonObject(with: Data(buffer: response.body), options: [.fragmentsAllowed]) else {
                throw Violation(description: "\(method) \(path) \(code): the body is not JSON")
            }
            value = v
        } else {
            value = String(buffer: response.body)
        }
        let problems = validate(value, schema, at: "body")
        if !problems.isEmpty {
            throw Violation(description: "\(method) \(path) \(code): " + problems.joined(separator: "; "))
        }
    }

    /// The problems of `value` against `schema` (empty: valid).
    static func validate(_ value: Any, _ schema: DereferencedJSONSchema, at where_: String) -> [String] {
        if value is NSNull {
            if schema.nullable { return [] }
            if case .null = schema { return [] }
            return ["\(where_): null is not allowed"]
        }
        if let allowed = schema.allowedValues {
            let ok = allowed.contains { "\($0.value)" == "\(value)" }
            if !ok { return ["\(where_): \(value) is not one of \(allowed.map { "\($0.value)" })"] }
        }
        switch schema {
        case .null:
            return ["\(where_): expected null"]
        case .boolean:
            return isBool(value) ? [] : ["\(where_): expected a boolean, got \(value)"]
        case .integer:
            guard let n = value as? NSNumber, !isBool(value), n.doubleValue == n.doubleValue.rounded() else { return ["\(where_): expected an integer, got \(value)"] }
            return []
        case .number:
            return (value is NSNumber && !isBool(value)) ? [] : ["\(where_): expected a number, got \(value)"]
        case .string:
            return value is String ? [] : ["\(where_): expected a string, got \(value)"]
        case .array(_, let context):
            guard let list = value as? [Any] else { return ["\(where_): expected an array"] }
            var problems: [String] = []
            if list.count < context.minItems { problems.append("\(where_): fewer than \(context.minItems) items") }
            if let max = context.maxItems, list.count > max { problems.append("\(where_): more than \(max) items") }
            if let items = context.items {
                for (k, element) in list.enumerated() { problems += validate(element, items, at: "\(where_)[\(k)]") }
            }
            return problems
        case .object(_, let context):
            guard let object = value as? [String: Any] else { return ["\(where_): expected an object"] }
            var problems: [String] = []
            for name in context.requiredProperties where object[name] == nil { problems.append("\(where_): missing \(name)") }
            for (key, element) in object {
                if let property = context.properties[key] {
                    problems += validate(element, property, at: "\(where_).\(key)")
                } else {
                    switch context.additionalProperties {
                    case .a(false)?: problems.append("\(where_): undocumented property \(key)")
                    case .b(let extra)?: problems += validate(element, extra, at: "\(where_).\(key)")
                    default:
                        // additionalProperties not given: this document describes every property, so an
                        // unlisted one is a sign the document fell behind.
                        if !context.properties.isEmpty { problems.append("\(where_): undocumented property \(key)") }
                    }
                }
            }
            return problems
        case .one(of: let schemas, core: _):
            let matches = schemas.filter { validate(value, $0, at: where_).isEmpty }.count
            return matches == 1 ? [] : ["\(where_): matches \(matches) of the oneOf schemas, not exactly 1"]
        case .any(of: let schemas, core: _):
            return schemas.contains { validate(value, $0, at: where_).isEmpty } ? [] : ["\(where_): matches none of anyOf"]
        case .all(of: let schemas, core: _):
            return schemas.flatMap { validate(value, $0, at: where_) }
        case .not(let inner, core: _):
            return validate(value, inner, at: where_).isEmpty ? ["\(where_): matches a `not` schema"] : []
        case .fragment:
            return []
        }
    }

    /// JSON booleans come back as NSNumbers of type "c" (char), numbers as other types.
    private static func isBool(_ value: Any) -> Bool {
        if value is Bool && !(value is NSNumber) { return true }
        guard let n = value as? NSNumber else { return false }
        return String(cString: n.objCType) == "c"
    }
}

/// The document itself: it parses, validates, and describes exactly the routes the server has.
@Suite struct OpenAPIDocumentTests {
    @Test func documentParsesAndListsEveryRoute() throws {
        let doc = try OpenAPIContract.document()
        #expect(Set(doc.paths.keys.map(\.rawValue)) == ["/predict", "/tokenize", "/info", "/health", "/metrics"])
        #expect(doc.paths["/predict"]?.for(.post) != nil && doc.paths["/tokenize"]?.for(.post) != nil)
        for path in ["/info", "/health", "/metrics"] { #expect(doc.paths[OpenAPI.Path(rawValue: path)]?.for(.get) != nil) }
        // Every error status the server can give for /predict is documented.
        let statuses = Set(ErrorType.allCases.map { Int($0.status.code) } + [400, 413])
        let documented = Set(doc.paths["/predict"]?.for(.post)?.responses.keys.compactMap { key -> Int? in
            if case .status(let code) = key.value { return code } else { return nil }
        } ?? [])
        #expect(statuses.isSubset(of: documented), "undocumented: \(statuses.subtracting(documented))")
    }

    /// The checker is not a rubber stamp: it refuses answers that break the schemas.
    @Test func checkerRefusesWrongAnswers() throws {
        let doc = try OpenAPIContract.document()
        let ok = try #require(doc.paths["/predict"]?.for(.post)?.responses[.status(code: 200)]?.content[.json]?.schema)
        #expect(OpenAPIContract.validate([["label": "happiness", "score": 0.9]], ok, at: "b").isEmpty)
        #expect(OpenAPIContract.validate([[["label": "happiness", "score": 0.9]]], ok, at: "b").isEmpty)
        #expect(!OpenAPIContract.validate([["label": "happiness"]], ok, at: "b").isEmpty)
        #expect(!OpenAPIContract.validate([["label": 3, "score": 0.9]], ok, at: "b").isEmpty)
        #expect(!OpenAPIContract.validate(["label": "happiness", "score": 0.9], ok, at: "b").isEmpty)
        let error = try #require(doc.paths["/predict"]?.for(.post)?.responses[.status(code: 413)]?.content[.json]?.schema)
        #expect(OpenAPIContract.validate(["error": "x", "error_type": "Validation"], error, at: "b").isEmpty)
        #expect(!OpenAPIContract.validate(["error": "x", "error_type": "validation"], error, at: "b").isEmpty)
        #expect(!OpenAPIContract.validate(["error": "x"], error, at: "b").isEmpty)
    }
}
