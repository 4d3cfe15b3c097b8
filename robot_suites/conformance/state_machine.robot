*** Settings ***
Documentation     Behaviour when the hub goes away, suspension and resume, disable, the empty window,
...               and the compiled-out module (spec §2.4, §1.4, §0).
Resource          conformance.resource
Test Tags         conformance    spec:2.4

*** Variables ***
${NOSECMOD_PROFILE}    nosecmod

*** Test Cases ***
A Broker Outage Leaves No Backlog
    Start Conformance Device
    Stop Broker
    Sleep    15s    two collections pass while the hub is away (shorter than the pending time)
    ${mark}=    Hub Mark
    Start Broker
    ${connect}=    Wait For Hub Message    hub_event    device=${DEVICE_ID}    event=connect    since=${mark}    timeout=30
    Wait For Security Message    ${DEVICE_ID}    since=${mark}    count=2    timeout=30
    ${messages}=    Security Messages    ${DEVICE_ID}    since=${mark}
    # device clock is the lab's SNTP time, so event times compare with the hub's clock
    ${old}=    Evaluate    [m['seq'] for m in $messages if max(e['time'] for e in m['events']) < ${connect}[t] - 1]
    Log    messages after the reconnect at ${connect}[t]: ${{ [(m['seq'], max(e['time'] for e in m['events'])) for m in $messages] }}
    Should Be True    len(${old}) <= 1    only the latest message from before the reconnect may be sent, never a backlog: ${old}
    ${newest}=    Evaluate    max(e['time'] for e in $messages[0]['events'])
    Should Be True    ${newest} >= ${connect}[t] - 11    the first message after reconnect is at most one window old

Suspension After The Pending Time And Resume
    [Tags]    timing
    Start Conformance Device
    Stop Broker
    Sleep    ${{ $PENDING_TIME[$PROFILE] + 15 }}s    PENDING for longer than the pending time
    ${mark}=    Hub Mark
    ${restart}=    Evaluate    time.time()    modules=time
    Start Broker
    ${first}=    Wait For Security Message    ${DEVICE_ID}    since=${mark}    timeout=30
    ${types}=    Event Types    ${first}
    Should Be Equal    ${types}[-2:]    ${{ ['SYSTEM_INFORMATION', 'HEARTBEAT'] }}
    ...    after a suspension the collectors restart and the first message carries SystemInformation and Heartbeat

Suspended State Is Reported By The Reference Device
    [Tags]    refdev    timing
    Start Conformance Device
    Stop Broker
    Wait For Secmod State    PENDING    timeout=20
    Wait For Secmod State    SUSPENDED    timeout=${{ $PENDING_TIME[$PROFILE] + 20 }}
    Start Broker
    Wait For Secmod State    ACTIVE    timeout=30

Disable Stops Publishing And Enable Resumes
    [Tags]    refdev
    Start Conformance Device
    Execute Command On Device    secmod disable
    Sleep    1s
    ${mark}=    Hub Mark
    Should Not Receive Hub Message    kind=d2c    device=${DEVICE_ID}    security=True    within=15    since=${mark}
    ${status}=    Secmod Status
    Should Be Equal    ${status}[state]    NOT_INITIALIZED
    Execute Command On Device    secmod enable
    Wait For Security Message    ${DEVICE_ID}    since=${mark}    timeout=${{ $FIRST_MAX[$PROFILE] + 15 }}

An Empty Window Publishes Nothing
    [Tags]    refdev    spec:1.4
    Start Conformance Device
    Wait For Window Start
    ${before}=    Secmod Status
    # with the link down nothing is sent or received: the windows are empty
    Set Device Link    down
    Sleep    25s
    ${after}=    Secmod Status
    Set Device Link    up
    Should Be True    ${after}[built] - ${before}[built] <= 1
    ...    empty windows must build no message (built ${before}[built] -> ${after}[built] over two empty windows)

The Compiled-Out Module Publishes Nothing
    [Tags]    spec:0
    Privileged Lab Should Be Available
    Start Lab
    Start Device In Lab    ${DEVICE_ID}    profile=${NOSECMOD_PROFILE}    telemetry_interval=2
    ${mark}=    Hub Mark
    Wait For Hub Message    d2c    device=${DEVICE_ID}    since=${mark}    timeout=30
    Should Not Receive Hub Message    kind=d2c    device=${DEVICE_ID}    security=True    within=15
