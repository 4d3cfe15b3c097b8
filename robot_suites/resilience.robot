*** Settings ***
Documentation     Fault injection: hub loss, NIC link down/up, loss/delay/duplication on the device's
...               link, a reset mid-stream, malformed and fuzzed frames. The security module's state
...               machine must behave (PENDING after a hub loss, no backlog, suspension and resume)
...               and the device must not crash: a fault banner fails the test at once.
Library           harness.robot.Testbed
Library           Collections
Test Setup        Privileged Lab Should Be Available
Test Tags         resilience

*** Variables ***
${PROFILE}        fast
${DEV}            res-dev

*** Keywords ***
Start Resilient Device
    [Arguments]    ${impairable}=False
    Start Lab
    Start Device In Lab    ${DEV}    profile=${PROFILE}    telemetry_interval=2    impairable=${impairable}
    Wait For Device Network    ${DEV}
    Wait For Security Message    ${DEV}    timeout=60

Device Still Answers
    Ping Device From Lab    ${DEV}    count=2
    ${mark}=    Hub Mark
    Wait For Security Message    ${DEV}    since=${mark}    timeout=40
    Security Messages Should Conform    ${DEV}

*** Test Cases ***
Hub Loss Gives PENDING And Recovery Without Backlog
    Start Resilient Device
    Stop Broker
    Wait For Secmod State    PENDING    timeout=20
    ${mark}=    Hub Mark
    Start Broker
    Wait For Secmod State    ACTIVE    timeout=30
    ${connect}=    Wait For Hub Message    hub_event    device=${DEV}    event=connect    since=${mark}    timeout=30
    Wait For Security Message    ${DEV}    since=${mark}    count=2    timeout=30
    ${messages}=    Security Messages    ${DEV}    since=${mark}
    ${old}=    Evaluate    [m['seq'] for m in $messages if max(e['time'] for e in m['events']) < ${connect}[t] - 1]
    Should Be True    len(${old}) <= 1    backlog after the hub came back: ${old}
    Device Still Answers

NIC Link Down And Up
    Start Resilient Device
    Set Device Link    down
    Wait For Line On Uart    net: link down    timeout=10
    Sleep    12s
    ${mark}=    Hub Mark
    Set Device Link    up
    Wait For Line On Uart    net: link up    timeout=10
    Wait For Hub Message    d2c    device=${DEV}    since=${mark}    timeout=40
    Device Still Answers

Loss Delay And Duplication On The Link
    Start Resilient Device    impairable=True
    Impair Device Link    loss=0.15    delay_ms=40    jitter_ms=20    duplicate=0.1
    Send Traffic    tcp    peer1    ${DEV}    dport=7    size=2000    count=5    timeout=20
    ${mark}=    Hub Mark
    Wait For Security Message    ${DEV}    since=${mark}    count=2    timeout=60
    Restore Device Link
    Device Still Answers

A Cut Link Is Survived And Publishing Resumes
    [Documentation]    Every frame dropped for 25 s: the MQTT connection looks alive to the device
    ...    (no reset arrives, keep-alive is 240 s), so the module stays ACTIVE, its sends queue up
    ...    or fail, and nothing crashes; once the link is back, security messages flow again.
    Start Resilient Device    impairable=True
    ${before}=    Secmod Status
    Cut Device Link
    Sleep    25s
    ${during}=    Secmod Status
    Should Be True    '${during}[state]' in ('ACTIVE', 'PENDING')
    Should Be True    ${during}[built] > ${before}[built]    the module keeps collecting while the link is cut
    ${mark}=    Hub Mark
    Restore Device Link
    Wait For Security Message    ${DEV}    since=${mark}    timeout=60
    Device Still Answers

Reset In The Middle Of The Stream
    Start Resilient Device
    Send Traffic    udp_flows    peer1    ${DEV}    dport=7    flows=20    sport_base=44000
    Reset Device
    Wait For Line On Uart    refdev boot:    timeout=10
    Wait For Line On Uart    hub: connected    timeout=30
    ${mark}=    Hub Mark
    ${first}=    Wait For Security Message    ${DEV}    since=${mark}    timeout=40
    ${types}=    Evaluate    [e['payload_type'] for e in $first['events']]
    Should Be Equal    ${types}[-2:]    ${{ ['SYSTEM_INFORMATION', 'HEARTBEAT'] }}    a rebooted module starts over
    Device Still Answers

Malformed And Fuzzed Frames Do Not Crash The Device
    Start Resilient Device
    Send Traffic    malformed    attacker1    ${DEV}    count=300    seed=7
    Send Traffic    malformed    attacker1    ${DEV}    ipv6=True    count=100    seed=8
    Should Not Be On Uart    HARDFAULT    timeout=2
    Device Still Answers
