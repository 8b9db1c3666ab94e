#!/usr/bin/env python3
"""Publishes one upload to Folio's work queue, as a front end with its own AMQP client would: a
`folio.upload.v1` message (docs/asyncapi.yaml), persistent, with the upload id as message id, published with
`mandatory` and a publisher confirm. Needs pika (`pip install pika`).

    publish_upload.py --url amqp://guest:guest@127.0.0.1:5672/%2f --queue folio.work \\
        --catalogue ccm-2012 --metadata contribution.json photo.png report.pdf

Files up to 8 MiB travel inline (base64); a larger one must be put in the blob store first and named with
--blob NAME=KEY. Publishing the same upload again (after a lost confirm, say) with the same --upload-id is
safe: Folio makes one contribution of it. Exits 0 once the broker confirmed, 1 when it refused or returned
the message.
"""

import argparse
import base64
import json
import os
import sys
import uuid

import pika

MAX_INLINE_BYTES = 8 * 1024 * 1024


def upload_message(catalogue, contribution, paths, blobs, upload_id):
    files = []
    for path in paths:
        with open(path, "rb") as f:
            content = f.read()
        if len(content) > MAX_INLINE_BYTES:
            raise SystemExit(f"{path} is over 8 MiB: put it in the blob store and pass --blob NAME=KEY")
        files.append({"name": os.path.basename(path), "content_base64": base64.b64encode(content).decode("ascii")})
    for blob in blobs:
        name, _, key = blob.partition("=")
        if not name or not key:
            raise SystemExit(f"--blob {blob!r}: give NAME=KEY")
        files.append({"name": name, "blob_key": key})
    return {"version": 1, "upload_id": upload_id, "catalogue": catalogue, "contribution": contribution, "files": files}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("FOLIO_QUEUE_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"))
    parser.add_argument("--queue", required=True, help="the work queue (the queue= of Folio's queue URL)")
    parser.add_argument("--catalogue", required=True, help="the catalogue key")
    parser.add_argument("--metadata", required=True, help="a JSON file with the contribution's fields")
    parser.add_argument("--upload-id", default=str(uuid.uuid4()), help="the same id for a retried upload")
    parser.add_argument("--blob", action="append", default=[], help="NAME=KEY of a file already in the blob store")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()

    with open(args.metadata, encoding="utf-8") as f:
        contribution = json.load(f)
    message = upload_message(args.catalogue, contribution, args.files, args.blob, args.upload_id)
    # The URL is Folio's own: its ?queue= parameter is Folio's, not pika's.
    url = args.url.split("?", 1)[0]
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            exchange="",
            routing_key=args.queue,
            body=json.dumps(message).encode("utf-8"),
            properties=pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                content_type="application/json",
                type="folio.upload.v1",
                message_id=args.upload_id,
            ),
            mandatory=True,
        )
    except pika.exceptions.UnroutableError:
        print(f"the broker has no queue {args.queue!r}: start a Folio worker first, or check --queue", file=sys.stderr)
        return 1
    except pika.exceptions.NackError:
        print("the broker refused the message (nack); publish it again with the same --upload-id", file=sys.stderr)
        return 1
    finally:
        connection.close()
    print(f"published upload {args.upload_id} ({len(message['files'])} files) to {args.queue}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
