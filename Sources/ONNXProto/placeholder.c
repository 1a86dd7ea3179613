/* placeholder until scripts/gen-onnx-proto.sh has run */
