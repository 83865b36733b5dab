import EmotionClassifier
import EmotionServer
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Answers to what a hostile review of the server sent (see the commit that added them).
@Suite struct HardeningTests {
    /// A character that normalization expands (U+FDFA is 18 characters in NFKC) cannot make /tokenize
    /// answer more tokens than the character limit allows.
    @Test func tokenizeBoundsThePiecesAfterNormalization() async throws {
        var options = defaultTestOptions()
        options.maxInputCharacters = 50
        try await withServer(options) { client, _ in
            let r = try await client.post("/tokenize", #"{"inputs": \#(jsonString(String(repeating: "\u{FDFA}", count: 40)))}"#)
            #expect(r.status == .unprocessableContent && r.errorType == "Tokenizer", "\(r.status) \(r.text.prefix(300))")
            #expect(r.errorMessage.contains("once normalized"), "\(r.errorMessage)")
            #expect(try await client.post("/tokenize", #"{"inputs": "좋아"}"#).status == .ok)
        }
    }

    /// As in TEI, a plain list of strings is a batch unless it holds exactly two (a sentence pair).
    @Test func aPlainListOfOtherThanTwoStringsIsABatch() async throws {
        try await withServer { client, _ in
            let one = try await client.post("/predict", #"{"inputs": ["좋아"]}"#)
            #expect(one.status == .ok && one.batch?.count == 1, "\(one.text)")
            let three = try await client.post("/predict", #"{"inputs": ["좋아", "싫어", "무서워"]}"#)
            #expect(three.status == .ok && three.batch?.count == 3, "\(three.text)")
            let pair = try await client.post("/predict", #"{"inputs": ["좋아", "싫어"]}"#)
            #expect(pair.status == .contentTooLarge && pair.errorMessage.contains("sentence pair"), "\(pair.text)")
        }
    }

    /// A string that is broken inside (invalid UTF-8, a lone surrogate) is malformed JSON (400), not
    /// "`inputs` must be a string".
    @Test func brokenStringsAreMalformedJSON() async throws {
        try await withServer { client, _ in
            var invalidUTF8 = ByteBuffer(string: #"{"inputs": ""#)
            invalidUTF8.writeBytes([0xFF, 0xFE])
            invalidUTF8.writeString(#""}"#)
            let bodies = [invalidUTF8, ByteBuffer(string: #"{"inputs": "\ud800"}"#), ByteBuffer(string: #"{"inputs": ["\ud800"]}"#)]
            for (path, body) in [("/predict", bodies[0]), ("/predict", bodies[1]), ("/predict", bodies[2]), ("/tokenize", bodies[1])] {
                let r = try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"], body: body)
                #expect(r.status == .badRequest, "\(path) \(String(buffer: body)): \(r.status) \(r.text)")
            }
        }
    }

    /// HEAD is answered on the GET routes (a load balancer's check may use it).
    @Test func headIsAnsweredOnTheGetRoutes() async throws {
        try await withServer { client, _ in
            for path in ["/health", "/info", "/metrics"] {
                let r = try await client.execute(uri: path, method: .head)
                #expect(r.status == .ok, "HEAD \(path): \(r.status)")
                #expect(r.body.readableBytes == 0)
            }
        }
    }

    /// The access log shows a client's path cut to length, and the request counters count a route
    /// reached by another spelling (`/health/`) under that route, not as "other".
    @Test func accessLogCutsLongPathsAndMetricsCountTheMatchedRoute() async throws {
        let log = LogSink()
        try await withServer(defaultTestOptions(), log: log) { client, _ in
            _ = try await client.get("/" + String(repeating: "x", count: 5000))
            #expect(try await client.get("/health/").status == .ok)
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"kobert_requests_total{route="/health",status="200"} 1"#)
                    || metrics.contains(#"kobert_requests_total{status="200",route="/health"} 1"#), "\(metrics)")
        }
        let lines = log.lines.map(\.message)
        let long = lines.first { $0.contains("xxxx") }
        #expect(long != nil && long!.utf8.count < 400 && long!.contains("more characters"), "\(long ?? "no line")")
    }
}
