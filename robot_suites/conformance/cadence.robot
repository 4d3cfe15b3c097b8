*** Settings ***
Documentation     Collection schedule and message cadence (spec §1.5, §2.2).
Resource          conformance.resource
Test Tags         conformance    timing

*** Test Cases ***
First Message Comes In The First-Collection Window
    [Tags]    spec:1.5    refdev
    Privileged Lab Should Be Available
    Start Lab
    Start Device In Lab    ${DEVICE_ID}    profile=${PROFILE}    telemetry_interval=0
    Wait For Line On Uart    secmod: enabled automatically    timeout=60
    ${enabled}=    Console Line Time    secmod: enabled automatically
    ${msg}=    Wait For Security Message    ${DEVICE_ID}    timeout=120
    ${delay}=    Evaluate    $msg['received'] - ${enabled}
    Log    first security message ${delay} s after enable (window ${FIRST_MIN}[${PROFILE}]-${FIRST_MAX}[${PROFILE}] s)
    Should Be True    ${FIRST_MIN}[${PROFILE}] - 1 <= ${delay} <= ${FIRST_MAX}[${PROFILE}] + 2
    ${types}=    Event Types    ${msg}
    Should Be Equal    ${types}[-2:]    ${{ ['SYSTEM_INFORMATION', 'HEARTBEAT'] }}    the first collection runs every collector

Network Activity Is Published Every 10 Seconds
    [Tags]    spec:2.2    spec:1.5
    Start Conformance Device
    ${mark}=    Hub Mark
    Wait For Security Message    ${DEVICE_ID}    since=${mark}    count=4    timeout=60
    ${messages}=    Security Messages    ${DEVICE_ID}    since=${mark}
    ${times}=    Evaluate    [[e['time'] for e in m['events'] if e['payload_type'] == 'NETWORK_ACTIVITY'][0] for m in $messages]
    ${intervals}=    Evaluate    [e['collection_interval'] for m in $messages for e in m['events'] if e['payload_type'] == 'NETWORK_ACTIVITY']
    Should Be Equal    ${{ set($intervals) }}    ${{ {10} }}
    ${steps}=    Evaluate    [b - a for a, b in zip($times, $times[1:])]
    Log    NetworkActivity event times ${times}: steps ${steps}
    Should Be Equal    ${{ set($steps) }}    ${{ {10} }}    the module publishes every 10 s of device time while traffic exists
    ${arrivals}=    Evaluate    [round(b['received'] - a['received'], 1) for a, b in zip($messages, $messages[1:])]
    Log    arrival spacing ${arrivals}
    Should Be True    all(8 <= s <= 12 for s in ${arrivals})

SystemInformation And Heartbeat Every 60 Seconds In The Same Message
    [Tags]    spec:1.5    slow
    ${first}=    Start Conformance Device
    ${mark}=    Hub Mark
    FOR    ${i}    IN RANGE    12
        ${msg}=    Wait For Security Message    ${DEVICE_ID}    since=${mark}    timeout=30
        ${mark}=    Hub Mark
        ${types}=    Event Types    ${msg}
        IF    'HEARTBEAT' in ${types}    BREAK
    END
    Should Be Equal    ${types}    ${{ ['NETWORK_ACTIVITY', 'SYSTEM_INFORMATION', 'HEARTBEAT'] }}
    ${t0}=    Evaluate    [e['time'] for e in $first['events'] if e['payload_type'] == 'HEARTBEAT'][0]
    ${t1}=    Evaluate    [e['time'] for e in $msg['events'] if e['payload_type'] == 'HEARTBEAT'][0]
    Should Be Equal As Integers    ${{ $t1 - $t0 }}    60
    ${messages}=    Security Messages    ${DEVICE_ID}
    ${with_hb}=    Evaluate    [m for m in $messages if any(e['payload_type'] == 'HEARTBEAT' for e in m['events'])]
    Length Should Be    ${with_hb}    2    exactly two heartbeats in the first 60 s of the module's life
    FOR    ${m}    IN    @{messages}
        FOR    ${e}    IN    @{m}[events]
            ${want}=    Set Variable If    '${e}[payload_type]' == 'NETWORK_ACTIVITY'    10    60
            Should Be Equal As Integers    ${e}[collection_interval]    ${want}
        END
    END
    Security Messages Should Conform    ${DEVICE_ID}
