import EmotionClassifier
import EmotionServer
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Every route and every error status, in-process (HummingbirdTesting's router mode: no port).
/// Every answer is also checked against openapi.yaml (`OpenAPIContract.check`).
@Suite struct RouteTests {
    @Test func predictSingleMatchesTheLibrary() async throws {
        let model = try TinyModel.model()
        let expected = try model.predict(sampleSentences)
        try await withServer { client, _ in
            for (text, p) in zip(sampleSentences, expected) {
                let r = try await client.post("/predict", #"{"inputs": \#(jsonString(text))}"#)
                try OpenAPIContract.check(r, "/predict", .post)
                #expect(r.status == .ok)
                try expectAnswer(try #require(r.single), equals: p, labels: model.labels.names)
            }
        }
    }

    @Test func predictBatchKeepsInputOrderAndMatchesTheLibrary() async throws {
        let model = try TinyModel.model()
        let expected = try model.predict(sampleSentences)
        try await withServer { client, _ in
            let r = try await client.post("/predict", batchBody(sampleSentences))
            try OpenAPIContract.check(r, "/predict", .post)
            #expect(r.status == .ok)
            let answers = try #require(r.batch)
            #expect(answers.count == sampleSentences.count)
            for (answer, p) in zip(answers, expected) {
                let scores = byLabel(answer)
                for (name, prob) in zip(model.labels.names, p.probabilities) {
                    #expect(abs(try #require(scores[name]) - Double(prob)) <= 1e-6)
                }
            }
        }
    }

    /// The same sentence answered alone and inside batches of 7, 33 and 64 (with other, longer
    /// sentences, so padding and the engine's kernels differ) equals `predict` within 1e-6.
    @Test(arguments: [1, 7, 33, 64])
    func sameSentenceWhateverTheBatch(size: Int) async throws {
        let model = try TinyModel.model()
        let target = "그냥 그래"
        let reference = try model.predict([target])[0].probabilities
        var texts = (0..<size).map { sampleSentences[$0 % sampleSentences.count] }
        let positions = Array(Set([0, size / 2, size - 1]))
        for k in positions { texts[k] = target }
        let body = batchBody(texts)
        var options = defaultTestOptions()
        options.maxBatchRequests = 64
        try await withServer(options) { client, _ in
            let r = try await client.post("/predict", body)
            #expect(r.status == .ok)
            let answers = try #require(r.batch)
            #expect(answers.count == size)
            for k in positions {
                let scores = byLabel(answers[k])
                for (name, prob) in zip(model.labels.names, reference) {
                    #expect(abs(try #require(scores[name]) - Double(prob)) <= 1e-6, "batch \(size), position \(k), \(name)")
                }
            }
        }
    }

    @Test func rawScoresAreTheLogits() async throws {
        let model = try TinyModel.model()
        let reference = try model.predict(["오늘 정말 행복해!"])[0].probabilities
        try await withServer { client, _ in
            let r = try await client.post("/predict", #"{"inputs": "오늘 정말 행복해!", "raw_scores": true}"#)
            try OpenAPIContract.check(r, "/predict", .post)
            let answer = try #require(r.single)
            #expect(answer.map(\.score) == answer.map(\.score).sorted(by: >))
            let logits = byLabel(answer)
            // softmax(logits) = probabilities, and the logits are not the probabilities.
            let names = model.labels.names
            let z = names.map { logits[$0] ?? .nan }
            let m = z.max() ?? 0
            let e = z.map { exp($0 - m) }
            let sum = e.reduce(0, +)
            for (k, p) in reference.enumerated() { #expect(abs(e[k] / sum - Double(p)) <= 1e-6) }
            #expect(abs(z.reduce(0, +) - 1) > 1e-3, "raw scores look like probabilities")
        }
    }

    @Test func tooLongIsRefusedUnlessTruncated() async throws {
        let model = try TinyModel.model()
        let length = model.tokenizer.tokenize(longSentence).count
        #expect(length > TinyModel.maxLength)
        try await withServer { client, _ in
            let r = try await client.post("/predict", batchBody(["그냥 그래", longSentence]))
            try OpenAPIContract.check(r, "/predict", .post)
            #expect(r.status == .contentTooLarge)
            #expect(r.errorType == "Validation")
            #expect(r.errorMessage.contains("input 1") && r.errorMessage.contains("\(length) tokens"), "\(r.errorMessage)")

            let t = try await client.post("/predict", batchBody(["그냥 그래", longSentence], extra: #", "truncate": true"#))
            #expect(t.status == .ok)
            // The library truncates as training did.
            let expected = try model.predict([longSentence])[0].probabilities
            let scores = byLabel(try #require(t.batch)[1])
            for (name, prob) in zip(model.labels.names, expected) { #expect(abs((scores[name] ?? .nan) - Double(prob)) <= 1e-6) }
        }
    }

    @Test func shapeAndEmptyErrors() async throws {
        try await withServer { client, _ in
            let cases: [(body: String, status: HTTPResponse.Status, type: String, mention: String)] = [
                (#"{"inputs": ""}"#, .badRequest, "Empty", "empty"),
                (#"{"inputs": []}"#, .badRequest, "Empty", "empty"),
                (#"{"inputs": [["좋아"], ""]}"#, .contentTooLarge, "Validation", "[["),
                (#"{"inputs": ["좋아", "싫어"]}"#, .contentTooLarge, "Validation", #"[["문장1"], ["문장2"]]"#),
                (#"{"inputs": [["좋아", "싫어"]]}"#, .contentTooLarge, "Validation", "pair"),
                (#"{"inputs": [["좋아"], []]}"#, .badRequest, "Empty", "input 1"),
                (#"{"inputs": 3}"#, .contentTooLarge, "Validation", "inputs"),
                (#"{"text": "좋아"}"#, .contentTooLarge, "Validation", "inputs"),
                (#"{"inputs": "좋아", "raw_scores": "yes"}"#, .contentTooLarge, "Validation", "raw_scores"),
                (#"{"inputs": "좋아", "truncation_direction": "left"}"#, .contentTooLarge, "Validation", "left"),
                (#"{"inputs": "좋아""#, .badRequest, "Validation", "malformed"),
                (#"not json"#, .badRequest, "Validation", "malformed"),
                (#""#, .badRequest, "Validation", "malformed"),
            ]
            for c in cases {
                let r = try await client.post("/predict", c.body)
                try OpenAPIContract.check(r, "/predict", .post)
                #expect(r.status == c.status, "\(c.body): \(r.status) \(r.text)")
                #expect(r.errorType == c.type, "\(c.body): \(r.text)")
                #expect(r.errorMessage.contains(c.mention), "\(c.body): \(r.errorMessage)")
            }
        }
    }

    @Test func limitsGiveTheirStatuses() async throws {
        var options = defaultTestOptions()
        options.maxClientBatchSize = 4
        options.maxInputCharacters = 50
        options.maxBodyBytes = 2000
        options.maxQueuedSentences = 4
        try await withServer(options) { client, service in
            let tooMany = try await client.post("/predict", batchBody(Array(repeating: "좋아", count: 5)))
            #expect(tooMany.status == .contentTooLarge && tooMany.errorType == "Validation", "\(tooMany.text)")
            #expect(tooMany.errorMessage.contains("5") && tooMany.errorMessage.contains("4"))

            let tooManyChars = try await client.post("/predict", #"{"inputs": \#(jsonString(String(repeating: "가", count: 51)))}"#)
            #expect(tooManyChars.status == .unprocessableContent && tooManyChars.errorType == "Tokenizer", "\(tooManyChars.text)")
            let tokenizeChars = try await client.post("/tokenize", #"{"inputs": \#(jsonString(String(repeating: "가", count: 51)))}"#)
            #expect(tokenizeChars.status == .unprocessableContent && tokenizeChars.errorType == "Tokenizer")

            let big = try await client.post("/predict", #"{"inputs": "\#(String(repeating: "a", count: 3000))"}"#)
            #expect(big.status == .contentTooLarge && big.errorType == "Validation" && big.errorMessage.contains("2000 bytes"), "\(big.text)")

            // The worker held: 3 sentences wait, and a request of 2 more does not fit in the queue of 4.
            service.queue.hold(true)
            let waiting = Task { try await client.post("/predict", batchBody(Array(repeating: "좋아", count: 3))) }
            while service.queue.depth < 3 { try await Task.sleep(for: .milliseconds(10)) }
            let full = try await client.post("/predict", batchBody(Array(repeating: "좋아", count: 2)))
            #expect(full.status == .tooManyRequests && full.errorType == "Overloaded", "\(full.text)")
            service.queue.hold(false)
            #expect(try await waiting.value.status == .ok)
            for r in [tooMany, tooManyChars, tokenizeChars, big, full] { try OpenAPIContract.check(r, "/predict", .post) }

            // Still serving after all of them.
            #expect(try await client.post("/predict", #"{"inputs": "좋아"}"#).status == .ok)
        }
    }

    /// A client batch larger than the queue could never be queued: refused when the server starts.
    @Test func aClientBatchLargerThanTheQueueIsRefusedAtStart() throws {
        var options = defaultTestOptions()
        options.maxClientBatchSize = 4
        options.maxQueuedSentences = 3
        #expect { _ = try options.validated() } throws: { "\($0)".contains("--max-client-batch-size 4 is more than --max-queue 3") }
    }

    @Test func requestTimeoutIsOverloaded() async throws {
        var options = defaultTestOptions()
        options.maxWaitMilliseconds = 10_000      // the idle worker waits for a fuller batch ...
        options.requestTimeoutSeconds = 0.1       // ... longer than the request may wait
        try await withServer(options) { client, _ in
            let r = try await client.post("/predict", #"{"inputs": "좋아"}"#)
            try OpenAPIContract.check(r, "/predict", .post)
            // A 200 would mean the worker's wait ended first; the timeout's answer names it.
            #expect(r.status == .tooManyRequests && r.errorType == "Overloaded", "\(r.text)")
            #expect(r.errorMessage.contains("not answered within 0.1 s"), "\(r.errorMessage)")
        }
    }

    @Test func shuttingDownIs503() async throws {
        try await withServer { client, service in
            #expect(try await client.get("/health").status == .ok)
            await service.queue.drain()
            let h = try await client.get("/health")
            try OpenAPIContract.check(h, "/health", .get)
            #expect(h.status == .serviceUnavailable && h.errorType == "Unhealthy")
            let p = try await client.post("/predict", #"{"inputs": "좋아"}"#)
            try OpenAPIContract.check(p, "/predict", .post)
            #expect(p.status == .serviceUnavailable && p.errorType == "Unhealthy")
        }
    }

    @Test func unknownRouteIs404() async throws {
        try await withServer { client, _ in
            let r = try await client.get("/embed")
            #expect(r.status == .notFound)
        }
    }

    @Test func tokenizeGivesPiecesAndIds() async throws {
        let model = try TinyModel.model()
        try await withServer { client, _ in
            let r = try await client.post("/tokenize", #"{"inputs": "오늘 정말 행복해!"}"#)
            try OpenAPIContract.check(r, "/tokenize", .post)
            #expect(r.status == .ok)
            let lists = try #require(r.json as? [[[String: Any]]])
            #expect(lists.count == 1)
            let expected = model.tokenizer.tokenize("오늘 정말 행복해!")
            let tokens = lists[0]
            #expect(tokens.compactMap { ($0["id"] as? NSNumber)?.intValue } == expected.map(\.id))
            #expect(zip(tokens.compactMap { $0["text"] as? String }, expected).allSatisfy { $0.unicodeScalars.elementsEqual($1.piece.unicodeScalars) })
            #expect(tokens.count == expected.count)
            #expect(tokens.map { ($0["special"] as? Bool) ?? false } == expected.indices.map { $0 == 0 || $0 == expected.count - 1 })

            let b = try await client.post("/tokenize", #"{"inputs": ["좋아", "\#(longSentence)"], "add_special_tokens": false}"#)
            try OpenAPIContract.check(b, "/tokenize", .post)
            let blists = try #require(b.json as? [[[String: Any]]])
            #expect(blists.count == 2)
            // Not truncated, and without [CLS]/[SEP].
            #expect(blists[1].count == model.tokenizer.tokenize(longSentence).count - 2)
            #expect(blists[0].compactMap { ($0["id"] as? NSNumber)?.intValue } == model.tokenizer.tokenize("좋아").dropFirst().dropLast().map(\.id))

            for (body, status) in [(#"{"inputs": []}"#, HTTPResponse.Status.badRequest), (#"{"inputs": 1}"#, .contentTooLarge), ("{", .badRequest)] {
                let e = try await client.post("/tokenize", body)
                try OpenAPIContract.check(e, "/tokenize", .post)
                #expect(e.status == status, "\(body): \(e.text)")
            }
        }
    }

    @Test func infoDescribesModelAndLimits() async throws {
        let model = try TinyModel.model()
        var options = defaultTestOptions()
        options.modelID = "/models/tiny"
        options.maxBatchTokens = 1234
        try await withServer(options) { client, _ in
            let r = try await client.get("/info")
            try OpenAPIContract.check(r, "/info", .get)
            let info = try #require(r.json as? [String: Any])
            #expect(info["model_id"] as? String == "/models/tiny")
            #expect((info["labels"] as? [String])?.count == model.labels.names.count)
            #expect((info["max_input_length"] as? NSNumber)?.intValue == TinyModel.maxLength)
            #expect((info["max_batch_tokens"] as? NSNumber)?.intValue == 1234)
            #expect(info["tokenizer_pipeline"] as? String == "gluonnlp")
            let id2label = ((info["model_type"] as? [String: Any])?["classifier"] as? [String: Any])?["id2label"] as? [String: String]
            #expect(id2label?["5"] == model.labels.names[5])
        }
    }

    @Test func healthAndMetricsAnswer() async throws {
        try await withServer { client, _ in
            let h = try await client.get("/health")
            try OpenAPIContract.check(h, "/health", .get)
            #expect(h.status == .ok)
            _ = try await client.post("/predict", #"{"inputs": "좋아"}"#)
            _ = try await client.post("/predict", #"{"inputs": ""}"#)
            let m = try await client.get("/metrics")
            try OpenAPIContract.check(m, "/metrics", .get)
            #expect(m.status == .ok)
            let text = m.text
            #expect(metricValue(text, #"kobert_requests_total{route="/predict",status="200"}"#) == 1, "\(text)")
            #expect(metricValue(text, #"kobert_requests_total{route="/predict",status="400"}"#) == 1)
            #expect(metricValue(text, "kobert_queue_depth") == 0)
            for name in ["kobert_request_duration_seconds_bucket", "kobert_queue_duration_seconds_bucket",
                         "kobert_batch_size_bucket", "kobert_batch_tokens_bucket"] {
                #expect(text.contains(name), "\(name) missing")
            }
        }
    }

    /// Requests sent together end up in shared batches: fewer batches than requests in /metrics.
    @Test func concurrentRequestsAreBatchedTogether() async throws {
        var options = defaultTestOptions()
        options.maxWaitMilliseconds = 1500
        options.maxBatchRequests = 64
        let model = try TinyModel.model()
        let expected = try model.predict(sampleSentences)
        let n = 24
        try await withServer(options) { client, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for k in 0..<n {
                    group.addTask {
                        let i = k % sampleSentences.count
                        let r = try await client.post("/predict", #"{"inputs": \#(jsonString(sampleSentences[i]))}"#)
                        #expect(r.status == .ok)
                        let scores = byLabel(r.single ?? [])
                        for (name, prob) in zip(model.labels.names, expected[i].probabilities) {
                            #expect(abs((scores[name] ?? .nan) - Double(prob)) <= 1e-6)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let text = try await client.get("/metrics").text
            let batches = try #require(metricValue(text, "kobert_batch_size_count"))
            let sentences = try #require(metricValue(text, "kobert_batch_size_sum"))
            #expect(sentences == Double(n))
            #expect(batches < Double(n) / 2, "\(batches) batches for \(n) concurrent requests")
        }
    }

    /// The idle worker waits for a fuller batch while requests come concurrently, not for a lone
    /// client: after a batch of one request, the next lone request is computed at once although
    /// `--max-wait-ms` is 3 s (the first request, at the start, waits it out).
    @Test func aLoneClientIsNotHeldByTheBatchWait() async throws {
        var options = defaultTestOptions()
        options.maxWaitMilliseconds = 3000
        let log = LogSink()
        try await withServer(options, log: log) { client, _ in
            let first = try await client.post("/predict", #"{"inputs": "좋아"}"#)
            let second = try await client.post("/predict", #"{"inputs": "오늘 정말 행복해!"}"#)
            #expect(first.status == .ok && second.status == .ok)
        }
        let queued = log.lines.filter { $0.metadata["path"] == "/predict" }.map { Double("\($0.metadata["queue_ms"] ?? "")") ?? .nan }
        #expect(queued.count == 2)
        #expect(queued.first ?? 0 >= 2500, "the first request did not wait for a fuller batch: \(queued)")
        #expect(queued.last ?? .infinity < 1500, "the lone client's second request waited: \(queued)")
    }

    @Test func oneAccessLogLinePerRequest() async throws {
        let log = LogSink()
        try await withServer(defaultTestOptions(), log: log) { client, _ in
            _ = try await client.post("/predict", batchBody(["좋아", "오늘 정말 행복해!"]))
            _ = try await client.get("/health")
            _ = try await client.post("/predict", #"{"inputs": ""}"#)
        }
        let lines = log.lines.filter { $0.metadata["path"] != nil }
        #expect(lines.count == 3)
        let first = try #require(lines.first)
        #expect(first.metadata["method"] == "POST" && first.metadata["path"] == "/predict" && first.metadata["status"] == "200")
        #expect(first.metadata["inputs"] == "2")
        #expect(Int("\(first.metadata["tokens"] ?? "0")") ?? 0 > 4)
        #expect(first.metadata["queue_ms"] != nil && first.metadata["compute_ms"] != nil)
        #expect(Double("\(first.metadata["compute_ms"] ?? "0")") ?? 0 > 0)
        #expect(lines[1].metadata["path"] == "/health" && lines[2].metadata["status"] == "400")
    }
}
