#!/usr/bin/env python3
"""Plant-in-a-box devices and their operators: real protocol stacks from PyPI (pinned in
requirements.txt), one subcommand per role. `serve-*` runs a device until killed, printing
"ready" once it listens; every other subcommand is a client action that talks to a device and
exits 0 when the device answered as expected (non-zero, with the reason on stderr, otherwise).

The plant test (tests/tests/plant.rs) runs each of these inside the namespace of the host the
scenario (scenario.toml) puts it on, with the arguments the scenario gives.
"""

import argparse
import asyncio
import ctypes
import socket
import sys
import tempfile
import time


def ready():
    print("ready", flush=True)


def fail(why):
    print(why, file=sys.stderr, flush=True)
    sys.exit(1)


# ---------------------------------------------------------------- Modbus/TCP (pymodbus)

def serve_modbus(a):
    from pymodbus.datastore import (ModbusDeviceContext, ModbusSequentialDataBlock,
                                    ModbusServerContext)
    from pymodbus.pdu.device import ModbusDeviceIdentification
    from pymodbus.server import StartAsyncTcpServer

    identity = ModbusDeviceIdentification(info_name={
        "VendorName": a.vendor, "ProductCode": a.product_code,
        "MajorMinorRevision": a.revision, "ProductName": a.product, "ModelName": a.model})
    device = ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, [0] * 100))
    context = ModbusServerContext(devices=device)

    async def run():
        server = asyncio.ensure_future(
            StartAsyncTcpServer(context, identity=identity, address=("0.0.0.0", 502)))
        await asyncio.sleep(1)
        ready()
        await server

    asyncio.run(run())


def modbus_client(host):
    from pymodbus.client import ModbusTcpClient

    client = ModbusTcpClient(host, port=502, timeout=5)
    if not client.connect():
        fail(f"no Modbus/TCP server at {host}:502")
    return client


def modbus_poll(a):
    client = modbus_client(a.host)
    info = client.read_device_information(read_code=0x01, object_id=0x00)
    if info.isError() or not info.information:
        fail(f"no device identification from {a.host}: {info}")
    for _ in range(a.count):
        regs = client.read_holding_registers(0, count=10)
        if regs.isError():
            fail(f"read holding registers from {a.host}: {regs}")
    client.close()


def modbus_write(a):
    client = modbus_client(a.host)
    res = client.write_registers(a.address, values=[int(v) for v in a.values.split(",")])
    if res.isError():
        fail(f"write registers to {a.host}: {res}")
    client.close()


# ---------------------------------------------------------------- S7comm (python-snap7)

def serve_s7(a):
    from snap7.server import Server
    from snap7.type import SrvArea

    server = Server(log=False)
    server.register_area(SrvArea.DB, 1, (ctypes.c_char * 64)())
    server.start(tcp_port=102)
    ready()
    while True:
        time.sleep(3600)


def s7_client(host):
    import snap7

    client = snap7.client.Client()
    client.connect(host, 0, 2)
    return client


def s7_poll(a):
    client = s7_client(a.host)
    info = client.get_cpu_info()
    order = client.get_order_code()
    if not info.ModuleTypeName or not order.OrderCode:
        fail(f"no identity from the S7 server at {a.host}")
    for _ in range(a.count):
        client.db_read(1, 0, 16)
    client.disconnect()


def s7_stop(a):
    client = s7_client(a.host)
    client.plc_stop()
    client.disconnect()


# ---------------------------------------------------------------- EtherNet/IP (cpppo)

def serve_enip(a):
    from cpppo.server.enip.main import main

    cfg = tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False)
    cfg.write(f"[Identity]\nVendor Number = {a.vendor_id}\nProduct Name = {a.product}\n"
              f"Product Revision = {a.revision}\nSerial Number = {a.serial}\n")
    cfg.close()
    ready()
    sys.exit(main(argv=["--config", cfg.name, "--address", "0.0.0.0:44818", "Level=INT[10]"]))


def enip_poll(a):
    from cpppo.server.enip import client

    with client.connector(host=a.host, port=44818, timeout=5) as conn:
        conn.list_identity(timeout=5)
        response, _ = client.await_response(conn, timeout=5)
        if not response or "list_identity" not in response.enip.CIP:
            fail(f"no ListIdentity reply from {a.host}")
        ops = client.parse_operations([f"Level[0-{a.count}]"])
        for _, _, _, _, _, val in conn.pipeline(operations=ops, depth=1):
            if val is None:
                fail(f"tag read from {a.host} failed")


# ---------------------------------------------------------------- IEC 60870-5-104 (c104)

def serve_iec104(a):
    import c104

    server = c104.Server(ip="0.0.0.0", port=2404)
    station = server.add_station(common_address=a.common_address)
    station.add_point(io_address=11, type=c104.Type.M_ME_NC_1, report_ms=1000)
    switch = station.add_point(io_address=12, type=c104.Type.C_SC_NA_1)

    def on_command(point: c104.Point, previous_info: c104.Information,
                   message: c104.IncomingMessage) -> c104.ResponseState:
        return c104.ResponseState.SUCCESS

    switch.on_receive(callable=on_command)
    server.start()
    ready()
    while True:
        time.sleep(3600)


def iec104_command(a):
    import c104

    client = c104.Client()
    conn = client.add_connection(ip=a.host, port=2404, init=c104.Init.INTERROGATION)
    station = conn.add_station(common_address=a.common_address)
    command = station.add_point(io_address=12, type=c104.Type.C_SC_NA_1)
    client.start()
    deadline = time.time() + 10
    while not conn.is_connected:
        if time.time() > deadline:
            fail(f"no IEC 104 connection to {a.host}")
        time.sleep(0.1)
    command.value = True
    # c104 now and then leaves a connection's first command unconfirmed and mutes the
    # connection (STOPDT); the command is confirmed once the connection is unmuted.
    for _ in range(6):
        # The connection's own start-up (interrogation, clock sync) goes first.
        time.sleep(0.5)
        if command.transmit(cause=c104.Cot.ACTIVATION):
            break
        if conn.state == c104.ConnectionState.OPEN_MUTED:
            conn.unmute()
    else:
        fail(f"single command to {a.host} never confirmed")
    time.sleep(1)
    client.stop()


# ---------------------------------------------------------------- OPC UA (asyncua)

def serve_opcua(a):
    from asyncua import Server, ua

    async def run():
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://0.0.0.0:{a.port}/plant/")
        server.set_server_name(a.name)
        await server.set_application_uri(a.uri)
        if a.secure:
            from asyncua.crypto.cert_gen import generate_private_key, generate_self_signed_app_certificate
            from cryptography import x509
            from cryptography.hazmat.primitives import serialization
            from cryptography.x509.oid import ExtendedKeyUsageOID
            key = generate_private_key()
            cert = generate_self_signed_app_certificate(
                key, a.name, {}, [x509.UniformResourceIdentifier(a.uri)],
                [ExtendedKeyUsageOID.SERVER_AUTH])
            await server.load_certificate(cert.public_bytes(serialization.Encoding.DER))
            await server.load_private_key(key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace("urn:plant")
        level = await server.nodes.objects.add_variable(ns, "Level", 1.5)
        async with server:
            ready()
            while True:
                await level.write_value(2.5)
                await asyncio.sleep(1)

    asyncio.run(run())


def opcua_browse(a):
    from asyncua import Client

    async def run():
        client = Client(f"opc.tcp://{a.host}:{a.port}/plant/", timeout=5)
        endpoints = await client.connect_and_get_server_endpoints()
        if not endpoints:
            fail(f"no endpoints from {a.host}:{a.port}")
        if not a.secure:
            async with client:
                await client.nodes.objects.get_children()

    asyncio.run(run())


# ---------------------------------------------------------------- BACnet/IP (bacpypes3)

def bacnet_app(name, instance, address):
    from bacpypes3.app import Application

    args = argparse.Namespace(name=name, instance=instance, network=0, address=address,
                              vendoridentifier=999, foreign=None, ttl=30, bbmd=None)
    return Application.from_args(args)


def serve_bacnet(a):
    async def run():
        app = bacnet_app(a.name, a.instance, a.address)
        device = app.device_object
        device.vendorName = a.vendor
        device.modelName = a.model
        device.firmwareRevision = a.firmware
        device.applicationSoftwareVersion = a.software
        ready()
        await asyncio.Future()

    asyncio.run(run())


def bacnet_read(a):
    from bacpypes3.pdu import Address
    from bacpypes3.primitivedata import ObjectIdentifier

    async def run():
        app = bacnet_app("plant-bacnet-client", 4194000, a.address)
        server = Address(a.host)
        i_ams = await asyncio.wait_for(app.who_is(a.instance, a.instance, server), 10)
        if not i_ams:
            fail(f"no I-Am from device {a.instance} at {a.host}")
        device = ObjectIdentifier(f"device,{a.instance}")
        for prop in ("vendor-name", "model-name", "firmware-revision", "application-software-version"):
            await asyncio.wait_for(app.read_property(server, device, prop), 10)
        app.close()

    asyncio.run(run())


# ---------------------------------------------------------------- banner services

def serve_banner(a):
    """A TCP service that greets every connection with a fixed banner (telnet, VNC)."""
    banners = {"telnet": b"\xff\xfb\x01\xff\xfb\x03\r\nPLC maintenance console\r\nlogin: ",
               "vnc": b"RFB 003.008\n"}
    listener = socket.create_server(("0.0.0.0", a.port), reuse_port=True)
    ready()
    while True:
        conn, _ = listener.accept()
        conn.settimeout(5)
        try:
            conn.sendall(banners[a.kind])
            conn.recv(1024)
        except OSError:
            pass
        conn.close()


def banner_connect(a):
    with socket.create_connection((a.host, a.port), timeout=5) as conn:
        greeting = conn.recv(1024)
        if not greeting:
            fail(f"no banner from {a.host}:{a.port}")
        conn.sendall(a.send.encode())
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def cmd(name, fn, *args):
        p = sub.add_parser(name)
        p.set_defaults(fn=fn)
        for arg, kw in args:
            p.add_argument(arg, **kw)
        return p

    text = lambda d=None: {"default": d} if d is not None else {"required": True}
    num = lambda d: {"type": int, "default": d}
    cmd("serve-modbus", serve_modbus, ("--vendor", text()), ("--product", text()),
        ("--product-code", text()), ("--revision", text()), ("--model", text("")))
    cmd("modbus-poll", modbus_poll, ("--host", text()), ("--count", num(5)))
    cmd("modbus-write", modbus_write, ("--host", text()), ("--address", num(0)),
        ("--values", text("1")))
    cmd("serve-s7", serve_s7)
    cmd("s7-poll", s7_poll, ("--host", text()), ("--count", num(3)))
    cmd("s7-stop", s7_stop, ("--host", text()))
    cmd("serve-enip", serve_enip, ("--vendor-id", num(1)), ("--product", text()),
        ("--revision", num(0x0b14)), ("--serial", num(0x006c061a)))
    cmd("enip-poll", enip_poll, ("--host", text()), ("--count", num(3)))
    cmd("serve-iec104", serve_iec104, ("--common-address", num(47)))
    cmd("iec104-command", iec104_command, ("--host", text()), ("--common-address", num(47)))
    cmd("serve-opcua", serve_opcua, ("--port", num(4840)), ("--name", text()), ("--uri", text()),
        ("--secure", {"action": "store_true"}))
    cmd("opcua-browse", opcua_browse, ("--host", text()), ("--port", num(4840)),
        ("--secure", {"action": "store_true"}))
    cmd("serve-bacnet", serve_bacnet, ("--name", text()), ("--instance", num(0)),
        ("--address", text()), ("--vendor", text()), ("--model", text()), ("--firmware", text()),
        ("--software", text()))
    cmd("bacnet-read", bacnet_read, ("--host", text()), ("--instance", num(0)),
        ("--address", text()))
    cmd("serve-banner", serve_banner, ("--kind", {"choices": ["telnet", "vnc"], "required": True}),
        ("--port", num(23)))
    cmd("banner-connect", banner_connect, ("--host", text()), ("--port", num(23)),
        ("--send", text("operator\r\n")))
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
