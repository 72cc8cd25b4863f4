#!/usr/bin/python3
"""Demo RIS: an MLLP receiver built on python-hl7 (Debian python3-hl7, hl7.mllp), not on our code.

It acknowledges every message and logs one JSON line per message (type, control id, result status,
ack code) -- never patient data. Used by `npm start` and by the integration tests, which can ask it to
misbehave:
  --mode aa        answer AA (default)
  --mode ae        answer AE to every message
  --mode ar        answer AR to every message
  --mode drop      read the message, answer nothing (the sender must time out and resend)
  --ae-first N     answer AE to the first N deliveries of each control id, then AA
  --drop-first N   answer nothing to the first N deliveries of each control id, then AA
"""
import argparse
import asyncio
import json
import sys
import time

import hl7
import hl7.mllp


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2575)
    ap.add_argument("--mode", choices=["aa", "ae", "ar", "drop"], default="aa")
    ap.add_argument("--ae-first", type=int, default=0)
    ap.add_argument("--drop-first", type=int, default=0)
    ap.add_argument("--log", help="append JSON lines here (default: stdout)")
    args = ap.parse_args()
    seen = {}
    out = open(args.log, "a", buffering=1) if args.log else sys.stdout

    def log(**kw):
        kw["t"] = round(time.time(), 3)
        out.write(json.dumps(kw) + "\n")
        out.flush()

    async def handle(reader, writer):
        try:
            while not writer.is_closing():
                msg = await reader.readmessage()
                msh = msg.segment("MSH")
                control_id = str(msh[10])
                mtype = str(msh[9])
                try:
                    status = str(msg.segment("OBR")[25])
                except KeyError:
                    status = ""
                n = seen.get(control_id, 0) + 1
                seen[control_id] = n
                if args.mode == "drop" or n <= args.drop_first:
                    log(event="dropped", control_id=control_id, type=mtype, status=status, delivery=n)
                    continue
                code = {"aa": "AA", "ae": "AE", "ar": "AR"}[args.mode]
                if n <= args.ae_first:
                    code = "AE"
                ack = msg.create_ack(ack_code=code, message_id="RIS" + control_id[-17:], application="DEMO_RIS", facility="HOSPITAL")
                if code != "AA":
                    # MSA-3 text message: why (demo reason)
                    ack = hl7.parse("\r".join(
                        (seg + "|demo RIS answers " + code) if seg.startswith("MSA") else seg
                        for seg in str(ack).split("\r")))
                writer.writemessage(ack)
                await writer.drain()
                log(event="ack", control_id=control_id, type=mtype, status=status, ack=code, delivery=n)
        except asyncio.IncompleteReadError:
            pass
        except Exception as e:  # a broken frame must not stop the server
            log(event="error", error=str(e)[:200])
        finally:
            if not writer.is_closing():
                writer.close()

    async def serve():
        async with await hl7.mllp.start_hl7_server(handle, host=args.host, port=args.port) as server:
            log(event="listening", host=args.host, port=args.port, mode=args.mode)
            await server.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
