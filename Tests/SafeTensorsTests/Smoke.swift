import Testing
@testable import SafeTensors

@Test func placeholder() { #expect(1 + 1 == 2) }
