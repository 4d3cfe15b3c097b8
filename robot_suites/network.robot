*** Settings ***
Documentation     The reference device on a real, isolated lab network: DHCP and SLAAC, ping both
...               ways on IPv4 and IPv6, telemetry to the local IoT Hub in IoT Hub's MQTT dialect,
...               identity enforcement, broker restarts, several devices in one lab, and the
...               unprivileged (QEMU user networking, restrict=on) mode.
...
...               Hub transport: plain MQTT on 1883 by default; ``-v HUB_TRANSPORT:mqtts`` runs every
...               test over TLS on 8883 with SAS tokens (``${HUB_AUTH}`` follows unless given).
Library           harness.robot.Testbed
Library           Collections
Library           String
Test Setup        Privileged Lab Should Be Available
Test Tags         network

*** Variables ***
${PROFILE}        nosecmod
${HUB_TRANSPORT}    mqtt
${HUB_AUTH}       ${{ 'sas' if $HUB_TRANSPORT == 'mqtts' else 'none' }}
&{TELEMETRY_PROPS}    $.ct=application/json    $.ce=utf-8

*** Test Cases ***
DHCP Lease And SLAAC Address Are Seen
    Start Lab
    Start Device In Lab    dev-1    profile=${PROFILE}
    ${addr}=    Wait For Device Network    dev-1
    ${lease}=    Device IPv4 Address    dev-1
    Should Be Equal    ${addr}[ipv4]    ${lease}    console and DHCP lease disagree
    Should Match Regexp    ${lease}    ^192\\.0\\.2\\.1\\d\\d$
    ${slaac}=    Device IPv6 Address    dev-1
    Should Be Equal    ${addr}[ipv6]    ${slaac}    SLAAC address is not the EUI-64 of the device's MAC
    Should Start With    ${slaac}    2001:db8:1:0:
    ${net}=    Execute Command On Device    net
    Should Contain    ${net}    dns: 192.0.2.1
    Should Contain    ${net}    sntp: 192.0.2.1
    Wait Until Keyword Succeeds    10s    0.5s    Device Time Comes From SNTP

Ping Both Ways On IPv4 And IPv6
    Start Lab
    Start Device In Lab    dev-1    profile=${PROFILE}
    Wait For Device Network    dev-1
    Ping Device From Lab    dev-1
    Ping Device From Lab    dev-1    ipv6=True
    Ping Device From Lab    dev-1    source=peer1
    Ping Device From Lab    dev-1    ipv6=True    source=peer1
    Ping From Device    192.0.2.1    count=2
    Ping From Device    2001:db8:1::1    count=2
    ${peer}=    Lab Host Address    peer1
    ${peer6}=    Lab Host Address    peer1    ipv6=True
    Ping From Device    ${peer}    count=2
    Ping From Device    ${peer6}    count=2

Static IPv4 And IPv6 Addresses
    Start Lab
    Start Device In Lab    dev-s    profile=${PROFILE}    static=True    ipv6=static
    ${addr}=    Wait For Device Network    dev-s
    Should Be Equal    ${addr}[ipv4]    192.0.2.10
    Should Be Equal    ${addr}[ipv6]    2001:db8:1::10
    Ping Device From Lab    dev-s
    Ping Device From Lab    dev-s    ipv6=True
    Wait For Hub Message    d2c    device=dev-s

Telemetry Reaches The Hub With Topic And Properties
    Start Lab
    Start Device In Lab    dev-1    profile=${PROFILE}
    ${connect}=    Wait For Hub Message    hub_event    device=dev-1    event=connect    timeout=30
    Should Be Equal    ${connect}[event][username]    hub.lab/dev-1/?api-version=2021-04-12
    Should Be Equal    ${connect}[event][transport]    ${HUB_TRANSPORT}
    ${msg}=    Wait For Hub Message    d2c    device=dev-1    topic=^devices/dev-1/messages/events/
    ...    properties=${TELEMETRY_PROPS}
    Should Be Equal As Integers    ${msg}[qos]    1
    ${body}=    Evaluate    json.loads(base64.b64decode($msg['payload_b64']))    modules=json,base64
    Dictionary Should Contain Key    ${body}    uptime_ms
    Wait For Hub Message    d2c    device=dev-1    count=2    timeout=20

Publishing Under Another Device Id Is Refused
    Start Lab
    Start Device In Lab    dev-1    profile=${PROFILE}
    Wait For Line On Uart    hub: connected    timeout=30
    ${mark}=    Hub Mark
    Execute Command On Device    hub publish devices/dev-2/messages/events/ spoofed
    ${denied}=    Wait For Hub Message    hub_event    device=dev-1    event=publish_denied    since=${mark}
    Should Be Equal    ${denied}[event][topic]    devices/dev-2/messages/events/
    Wait For Line On Uart    hub: disconnected
    Should Not Receive Hub Message    kind=${NONE}    device=dev-2    within=1    since=${mark}
    # the hub closed the connection, as IoT Hub does; the device reconnects and carries on
    Wait For Line On Uart    hub: connected    timeout=30
    ${after}=    Hub Mark
    Wait For Hub Message    d2c    device=dev-1    since=${after}

Device Reconnects After A Broker Restart
    Start Lab
    Start Device In Lab    dev-1    profile=${PROFILE}
    Wait For Line On Uart    hub: connected    timeout=30
    Wait For Hub Message    d2c    device=dev-1
    Stop Broker
    Wait For Line On Uart    hub: disconnected    timeout=20
    Wait For Line On Uart    hub: connection failed (3)    timeout=20
    Start Broker
    Wait For Line On Uart    hub: connected    timeout=30
    ${mark}=    Hub Mark
    Wait For Hub Message    d2c    device=dev-1    since=${mark}    timeout=20

Four Devices Share One Lab With Distinct Identities
    Start Lab
    @{ids}=    Create List    dev-1    dev-2    dev-3    dev-4
    FOR    ${id}    IN    @{ids}
        Start Device In Lab    ${id}    profile=${PROFILE}
    END
    @{addresses}=    Create List
    FOR    ${id}    IN    @{ids}
        ${addr}=    Wait For Device Network    ${id}
        Append To List    ${addresses}    ${addr}[ipv4]    ${addr}[ipv6]
        Wait For Hub Message    d2c    device=${id}    topic=^devices/${id}/messages/events/    timeout=30
    END
    List Should Not Contain Duplicates    ${addresses}
    FOR    ${id}    IN    @{ids}
        Ping Device From Lab    ${id}    count=1
    END

Unprivileged Mode Boots And Reaches The Hub
    [Setup]    No Operation
    [Tags]    unprivileged
    Start Lab    privileged=False
    Start Device In Lab    dev-u    profile=${PROFILE}
    Wait For Line On Uart    net: ipv4 dhcp bound    timeout=30
    Wait For Line On Uart    hub: connected    timeout=30
    ${msg}=    Wait For Hub Message    d2c    device=dev-u    properties=${TELEMETRY_PROPS}
    ${out}=    Execute Command On Device    time
    Should Contain    ${out}    source=config-hint

*** Keywords ***
Device Time Comes From SNTP
    ${out}=    Execute Command On Device    time
    Should Contain    ${out}    source=sntp
