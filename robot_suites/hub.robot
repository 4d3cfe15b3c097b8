*** Settings ***
Documentation     Hub fidelity: the reference firmware over TLS (8883, lab CA, NetX Duo's
...               ECDHE-RSA-AES128-SHA256 with secp384r1) with a SAS token it computes from its
...               device key; wrong, expired and foreign tokens refused with CONNACK 5 and the hub
...               events the back end alerts on; X.509 authentication by thumbprint; the NUL-ended
...               username of NetX Duo's default build; device twins, direct methods and
...               cloud-to-device messages with the device and with a paho client that behaves
...               like an unmodified Azure IoT sample.
Library           harness.robot.Testbed
Library           Collections
Test Setup        Privileged Lab Should Be Available
Test Tags         hub

*** Variables ***
${PROFILE}        nosecmod
${OTHER_KEY}      QltK1rFc+8HZ3RYFIGNCtH6uMUbmX5t6Io2s3+aJgEg=

*** Test Cases ***
Reference Device Connects Over TLS With A SAS Token
    [Documentation]    Telemetry and security messages arrive over TLS; the module sees its own 8883 traffic.
    [Tags]    refdev
    Start Lab
    Start Device In Lab    dev-tls    profile=fast    transport=mqtts    auth=sas
    ${connect}=    Wait For Hub Message    hub_event    device=dev-tls    event=connect    timeout=30
    Should Be Equal    ${connect}[event][transport]    mqtts
    Should Be Equal    ${connect}[event][auth]    sas
    Should Be Equal    ${connect}[event][tls][tls_version]    TLSv1.2
    Should Be Equal    ${connect}[event][tls][tls_cipher]    ECDHE-RSA-AES128-SHA256
    Should Be Equal As Integers    ${connect}[event][keepalive]    240
    Wait For Hub Message    d2c    device=dev-tls    topic=^devices/dev-tls/messages/events/\\$\\.ct=
    Wait For Security Message    dev-tls    timeout=30
    ${mark}=    Hub Mark
    Wait For Security Message    dev-tls    since=${mark}    timeout=30
    ${records}=    Records For Remote    192.0.2.1    dev-tls
    ${tls}=    Evaluate    [r for r in $records if r['remote_port'] == 8883 and r['protocol'] == 'TCP']
    Should Not Be Empty    ${tls}    the security module must record its own connection to 8883

Wrong Device Key Is Refused As An Invalid Signature
    [Template]    SAS Token Is Refused
    device_key=${OTHER_KEY}    sas_invalid_signature

Expired SAS Token Is Refused
    [Template]    SAS Token Is Refused
    sas_expiry=1000000000    sas_expired

Token For Another Device Is Refused
    [Template]    SAS Token Is Refused
    sas_resource=hub.lab/devices/someone-else    sas_wrong_resource

NUL-Ended Username Of NetX Duo Is Accepted
    Start Lab
    Start Device In Lab    dev-nul    profile=${PROFILE}    transport=mqtts    auth=sas    username_nul=1
    ${connect}=    Wait For Hub Message    hub_event    device=dev-nul    event=connect    timeout=30
    Should Be True    ${connect}[event][nul_username]
    Should Be Equal    ${connect}[event][username]    hub.lab/dev-nul/?api-version=2021-04-12
    Wait For Hub Message    d2c    device=dev-nul

X.509 Device Authenticates By Thumbprint
    Start Lab
    ${identity}=    Register Device    dev-x509    auth=x509
    Start Device In Lab    dev-x509    profile=${PROFILE}    transport=mqtts
    ${connect}=    Wait For Hub Message    hub_event    device=dev-x509    event=connect    timeout=30
    Should Be Equal    ${connect}[event][auth]    x509
    Wait For Hub Message    d2c    device=dev-x509

X.509 Thumbprint Mismatch And Expired Certificate Are Refused
    Start Lab
    Register Device    dev-x509    auth=x509
    Use Device Certificate    dev-x509    variant=unregistered
    Start Device In Lab    dev-x509    profile=${PROFILE}    transport=mqtts
    ${refused}=    Wait For Hub Message    hub_event    device=dev-x509    event=connect_refused    timeout=30
    Should Be Equal    ${refused}[event][reason]    x509_thumbprint_mismatch
    Stop Device    dev-x509
    Use Device Certificate    dev-x509    expired=True    register=True
    ${mark}=    Hub Mark
    Start Device In Lab    dev-x509    profile=${PROFILE}    transport=mqtts
    ${refused}=    Wait For Hub Message    hub_event    device=dev-x509    event=connect_refused    since=${mark}
    ...    timeout=30
    Should Be Equal    ${refused}[event][reason]    x509_expired
    Wait For Line On Uart    hub: connection failed (5)

Twin, Direct Methods And Cloud-To-Device Messages With The Reference Device
    [Tags]    refdev
    Start Lab
    Start Device In Lab    dev-twin    profile=${PROFILE}    transport=mqtts    auth=sas    telemetry_interval=0
    Wait For Line On Uart    hub: twin response 200    timeout=30
    Wait For Line On Uart    hub: twin response 204
    ${twin}=    Get Device Twin    dev-twin
    Should Be Equal    ${twin}[properties][reported][firmware]    refdev 1.0.0
    ${echo}=    Invoke Direct Method    dev-twin    echo    {"n": 7}    expected_status=200
    Should Be Equal As Integers    ${echo}[payload][n]    7
    Invoke Direct Method    dev-twin    no_such_method    expected_status=404
    Wait For Hub Message    hub_event    device=dev-twin    event=method_response    count=2
    Send C2D Message    dev-twin    hello device    color=blue
    ${line}=    Wait For Line On Uart    hub: c2d message
    Should End With    ${line}    (12 bytes): hello device
    ${version}=    Update Desired Properties    dev-twin    {"telemetry_interval": 1}
    Wait For Line On Uart    hub: desired properties version ${version}
    Wait For Line On Uart    hub: telemetry interval set to 1 s by the twin
    ${mark}=    Hub Mark
    Wait For Hub Message    d2c    device=dev-twin    since=${mark}    count=2    timeout=10
    Wait For Hub Message    hub_event    device=dev-twin    event=c2d_sent
    Wait For Hub Message    hub_event    device=dev-twin    event=method_invoked
    Wait For Hub Message    hub_event    device=dev-twin    event=twin_updated

Cloud-To-Device Messages Wait In The Queue Of An Offline Device
    [Documentation]    IoT Hub holds C2D messages for a device that is not connected and delivers
    ...    them, in order, once it connects and subscribes; an expired one is never delivered.
    [Tags]    refdev
    Start Lab
    Register Device    dev-late    auth=sas
    ${first}=    Send C2D Message    dev-late    first
    Send C2D Message    dev-late    expires    ttl=0.1
    ${second}=    Send C2D Message    dev-late    second
    Wait For Hub Message    hub_event    device=dev-late    event=c2d_queued    count=3
    Start Device In Lab    dev-late    profile=${PROFILE}    transport=mqtts    auth=sas    telemetry_interval=0
    ${line}=    Wait For Line On Uart    hub: c2d message    timeout=30
    Should End With    ${line}    (5 bytes): first
    ${line}=    Wait For Line On Uart    hub: c2d message
    Should End With    ${line}    (6 bytes): second
    Should Not Be On Uart    expires    timeout=1
    Wait For Hub Message    hub_event    device=dev-late    event=c2d_sent    count=2
    Wait For Hub Message    hub_event    device=dev-late    event=c2d_expired

An Unmodified Azure IoT Sample Works And Sees Only Its Own Traffic
    Start Lab
    Register Device    sample-1
    Register Device    sample-2
    Connect Sample Device    sample-1
    Connect Sample Device    sample-2
    ${got}=    Sample Device Twin Get    sample-1
    Should Be Equal As Integers    ${got}[status]    200
    Dictionary Should Contain Key    ${got}[twin]    desired
    ${patched}=    Sample Device Reports    sample-1    {"sample": true}
    Should Be Equal As Integers    ${patched}[status]    204
    Sample Device Answers Methods    sample-1
    ${answer}=    Invoke Direct Method    sample-1    reboot    {"delay": 0}    expected_status=200
    Should Be Equal    ${answer}[payload][method]    reboot
    Send C2D Message    sample-1    for one only
    ${c2d}=    Sample Device Should Receive    sample-1    devices/sample-1/messages/devicebound/
    Should Be Equal    ${c2d}[payload]    for one only
    Update Desired Properties    sample-1    mode=eco
    Sample Device Should Receive    sample-1    $iothub/twin/PATCH/properties/desired/
    Sleep    0.5s
    ${other}=    Sample Device Topics    sample-2
    Should Be Empty    ${other}    sample-2 must not see sample-1's twin, method or C2D traffic

Plain MQTT On 1883 Stays Available As A Test Option
    Start Lab
    Register Device    plain-1
    Connect Sample Device    plain-1    transport=mqtt
    ${connect}=    Wait For Hub Message    hub_event    device=plain-1    event=connect
    Should Be Equal    ${connect}[event][transport]    mqtt

*** Keywords ***
SAS Token Is Refused
    [Arguments]    ${override}    ${reason}
    [Documentation]    The device computes a bad token (config override): CONNACK 5 and connect_refused.
    Start Lab
    ${name}    ${value}=    Evaluate    $override.split('=', 1)
    &{config}=    Create Dictionary    ${name}=${value}
    Start Device In Lab    dev-bad    profile=${PROFILE}    transport=mqtts    auth=sas    &{config}
    ${refused}=    Wait For Hub Message    hub_event    device=dev-bad    event=connect_refused    timeout=30
    Should Be Equal    ${refused}[event][reason]    ${reason}
    Should Be Equal As Integers    ${refused}[event][connack]    5
    Should Be Equal    ${refused}[event][transport]    mqtts
    Wait For Line On Uart    hub: connection failed (5)
