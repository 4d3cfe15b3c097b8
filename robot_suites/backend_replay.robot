*** Settings ***
Documentation     The back end over recorded hub messages, with no device and no lab: fast,
...               deterministic checks of detections, de-duplication, hub alerts and bad input.
Library           harness.robot.Testbed
Library           Collections
Library           OperatingSystem
Library           resources/SyntheticRecordings.py
Test Tags         backend

*** Variables ***
${T0}             ${1800000000}
@{FEED}           203.0.113.0/24    2001:db8:bad::/48

*** Keywords ***
Replay
    [Arguments]    &{options}
    ${dir}=    Set Variable    ${OUTPUT DIR}/backend-replay/${TEST NAME}
    Create Directory    ${dir}
    ${db}=    Replay Recording Through Back End    ${RECORDING}    ${dir}/store.db    &{options}
    RETURN    ${db}

New Recording
    ${path}=    Start Recording    ${OUTPUT DIR}/backend-replay/${TEST NAME}/hub.jsonl
    Set Test Variable    ${RECORDING}    ${path}

*** Test Cases ***
A Suspicious Peer Raises One Alert Per Peer With Its Indicator
    New Recording
    Add Security Message    dev-1    ${T0}
    ...    tcp 192.0.2.10:49152 192.0.2.1:8883 in=120 out=340
    ...    tcp 192.0.2.10:49153 203.0.113.66:443 in=60 out=90
    Add Security Message    dev-1    ${T0 + 10}    udp [2001:db8:1::10]:5000 [2001:db8:bad::7]:53 in=0 out=40
    Add Security Message    dev-1    ${T0 + 20}    tcp 192.0.2.10:49153 203.0.113.66:443 in=10 out=10
    ${db}=    Replay    indicators=${FEED}
    ${alerts}=    Alerts In Store    ${db}    type=IoT_SuspiciousIPCommunication
    Length Should Be    ${alerts}    2
    ${v4}=    Alerts In Store    ${db}    peer=203.0.113.66
    Should Be Equal    ${v4}[0][indicator]    203.0.113.0/24
    Should Be Equal As Integers    ${v4}[0][count]    2    the repeat is de-duplicated into the first alert
    Should Be Equal As Integers    ${v4}[0][evidence][record_seq]    1
    ${v6}=    Alerts In Store    ${db}    peer=2001:db8:bad::7
    Should Be Equal    ${v6}[0][severity]    Medium
    ${none}=    Alerts In Store    ${db}    peer=192.0.2.1
    Should Be Empty    ${none}

Replays Are Deterministic
    New Recording
    Add Security Message    dev-1    ${T0}    icmp 192.0.2.10:0 203.0.113.9:0 in=64 out=64
    ${first}=    Replay    indicators=${FEED}
    ${a}=    Alerts In Store    ${first}
    Remove File    ${first}
    ${second}=    Replay    indicators=${FEED}
    ${b}=    Alerts In Store    ${second}
    Should Be Equal    ${a}    ${b}

Custom Allowlist Alerts Follow The Device's Group
    New Recording
    Add Security Message    cam-1    ${T0}    tcp 192.0.2.11:49152 198.51.100.50:443 in=10 out=10
    Add Security Message    gw-1    ${T0}    tcp 192.0.2.12:49152 198.51.100.50:443 in=10 out=10
    ${registry}=    Set Variable    ${OUTPUT DIR}/backend-replay/${TEST NAME}/registry.yaml
    Create File    ${registry}    devices: [{id: cam-1, tags: {SecurityGroup: cameras}}, {id: gw-1}]\n
    ${groups}=    Catenate    SEPARATOR=\n    groups:    ${SPACE}${SPACE}cameras:
    ...    ${SPACE * 4}allowlistRules: [{ruleType: ConnectionToIpNotAllowed, isEnabled: true, allowlistValues: [192.0.2.0/24]}]
    ${db}=    Replay    groups=${groups}    registry=${registry}
    ${cam}=    Alerts In Store    ${db}    type=IoT_CA_ConnectionToIpNotAllowed
    Length Should Be    ${cam}    1
    Should Be Equal    ${cam}[0][device_id]    cam-1
    Should Be Equal    ${cam}[0][group]    cameras

Hub Authentication Failures Raise Hub Alerts
    New Recording
    Add Hub Event    connect_refused    dev-1    ${T0}    reason=sas_invalid_signature    peer=192.0.2.10:50000
    Add Hub Event    connect_refused    dev-2    ${T0 + 1}    reason=sas_expired    peer=192.0.2.11:50000
    ${db}=    Replay
    ${invalid}=    Alerts In Store    ${db}    type=IoT_Invalid_SAS_Token
    Should Be Equal    ${invalid}[0][device_id]    dev-1
    ${expired}=    Alerts In Store    ${db}    type=IoT_Expired_SAS_Token
    Should Be Equal    ${expired}[0][device_id]    dev-2

A Malformed Message Is A Finding And Nothing Else Is Lost
    New Recording
    Add Raw Security Payload    dev-1    ${T0}    this is not a flatbuffer
    Add Security Message    dev-1    ${T0 + 10}    udp 192.0.2.10:5000 203.0.113.66:53 in=0 out=30
    ${db}=    Replay    indicators=${FEED}
    ${findings}=    Findings In Store    ${db}    kind=malformed_security_message
    Length Should Be    ${findings}    1
    ${alerts}=    Alerts In Store    ${db}    peer=203.0.113.66
    Length Should Be    ${alerts}    1
