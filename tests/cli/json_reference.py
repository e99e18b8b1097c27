#!/usr/bin/env python3
"""json_reference.py - the genrpc command's JSON against protobuf's Python
json_format (python3-protobuf), the reference implementation of protobuf's
JSON mapping.

    json_reference.py DESCRIPTOR_SET REQUEST_JSON CLI_OUTPUT

For a clitest.Shop/Order call (tests/proto/cli.proto): the request JSON as
Python parses it must equal the order the node echoed (so the command
encoded every field as json_format does), and the reply the command printed
must be what json_format prints for the same message. Exits 1 with the
difference otherwise.
"""
import json
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def message_class(pool, name):
    desc = pool.FindMessageTypeByName(name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def main():
    desc_path, request_json, cli_output = sys.argv[1:4]
    fds = descriptor_pb2.FileDescriptorSet()
    with open(desc_path, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    order_cls = message_class(pool, "clitest.Order")
    receipt_cls = message_class(pool, "clitest.Receipt")

    want_order = json_format.Parse(request_json, order_cls())
    receipt = json_format.Parse(cli_output, receipt_cls())
    if receipt.order != want_order:
        print("the order the node received differs from json_format's parse of the request:")
        print("  json_format:", json_format.MessageToJson(want_order, indent=None))
        print("  received:   ", json_format.MessageToJson(receipt.order, indent=None))
        return 1
    printed = json.loads(cli_output)
    reference = json_format.MessageToDict(receipt)
    if printed != reference:
        print("the command printed the reply otherwise than json_format:")
        print("  json_format:", json.dumps(reference, sort_keys=True))
        print("  command:    ", json.dumps(printed, sort_keys=True))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
