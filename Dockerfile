# kobert-emotion serve in a container, built with only the set-up script and the build command README
# gives (`./Scripts/setup.sh`, `swift build -c release`), the same steps CI runs.
#
#   docker build -t kobert-emotion .
#   docker run --rm -p 8080:8080 -v "$PWD/my-model:/model:ro" kobert-emotion
#
# The model is not in the image: mount a model directory (train or download writes one) at /model.
ARG SWIFT_VERSION=6.3

FROM swift:${SWIFT_VERSION}-noble AS build
WORKDIR /src
COPY . .
RUN ./Scripts/setup.sh && swift build -c release
# The binary and its resource bundles (SentencePiece's model, the built-in sample), which it finds
# beside itself.
RUN mkdir /out && cp .build/release/kobert-emotion /out/ && cp -R .build/release/*.resources /out/

# Runtime: the Swift runtime libraries (slim image) and OpenBLAS, installed by the same set-up script.
FROM swift:${SWIFT_VERSION}-noble-slim
COPY Scripts/setup.sh /tmp/setup.sh
RUN /tmp/setup.sh && rm -rf /var/lib/apt/lists/* /tmp/setup.sh
COPY --from=build /out/ /app/
RUN useradd --system --no-create-home kobert
USER kobert
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/kobert-emotion", "serve", "--host", "0.0.0.0", "--port", "8080"]
CMD ["--model", "/model"]
