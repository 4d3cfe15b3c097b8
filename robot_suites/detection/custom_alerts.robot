*** Settings ***
Documentation     Security groups and their custom alerts, end to end (spec §3.2): allowlists in
...               both directions, the number of active connections, device-to-cloud messages.
Resource          detection.resource
Test Teardown     Report Evidence
Test Tags         detection    custom-alerts

*** Variables ***
${LAB_NETS}       [192.0.2.0/24, 198.51.100.0/24, "2001:db8:1::/64", "2001:db8:100::/64", "fe80::/10", "ff00::/8", 255.255.255.255/32]
${ALLOW_OUT}      SEPARATOR=\n
...               groups:
...               ${SPACE * 2}fleet-a:
...               ${SPACE * 4}allowlistRules:
...               ${SPACE * 6}- {ruleType: ConnectionToIpNotAllowed, isEnabled: true, allowlistValues: ${LAB_NETS}}
${ALLOW_IN}       SEPARATOR=\n
...               groups:
...               ${SPACE * 2}fleet-a:
...               ${SPACE * 4}allowlistRules:
...               ${SPACE * 6}- {ruleType: ConnectionFromIpNotAllowed, isEnabled: true, allowlistValues: ${LAB_NETS}}
${COUNTS}         SEPARATOR=\n
...               groups:
...               ${SPACE * 2}fleet-a:
...               ${SPACE * 4}timeWindowRules:
...               ${SPACE * 6}- {ruleType: ActiveConnectionsNotInAllowedRange, isEnabled: true, minThreshold: 0, maxThreshold: 12, timeWindowSize: PT20S}
...               ${SPACE * 6}- {ruleType: MqttD2CMessagesNotInAllowedRange, isEnabled: true, minThreshold: 0, maxThreshold: 8, timeWindowSize: PT20S}

*** Test Cases ***
Connection To An IP Outside The Allowlist Raises A Custom Alert
    Start Detection Lab    groups=${ALLOW_OUT}    security_group=fleet-a
    ${c2}=    Lab Host Address    c2
    ${peer}=    Lab Host Address    peer1
    Execute Command On Device    tcp connect ${c2} 4444
    Execute Command On Device    tcp connect ${peer} 80
    ${alert}=    Wait For Alert    IoT_CA_ConnectionToIpNotAllowed    device=${DEVICE_ID}    peer=${c2}    timeout=${ALERT_BOUND}
    Should Be Equal    ${alert}[severity]    Low
    Should Be Equal    ${alert}[group]    fleet-a
    Wait For Security Message    ${DEVICE_ID}    count=2    timeout=30
    No Alert Should Name A Peer In    ${BENIGN_NETS}    type=IoT_CA_ConnectionToIpNotAllowed

Connection From An IP Outside The Allowlist Raises A Custom Alert
    Start Detection Lab    groups=${ALLOW_IN}    security_group=fleet-a
    ${attacker}=    Lab Host Address    attacker1    ipv6=True
    Send Traffic    tcp    attacker1    ${DEVICE_ID}    ipv6=True    dport=7    size=32
    Send Traffic    tcp    peer1    ${DEVICE_ID}    ipv6=True    dport=7    size=32
    ${alert}=    Wait For Alert    IoT_CA_ConnectionFromIpNotAllowed    device=${DEVICE_ID}    peer=${attacker}    timeout=${ALERT_BOUND}
    Should Be Equal    ${alert}[evidence][direction]    inbound
    No Alert Should Name A Peer In    ${BENIGN_NETS}    type=IoT_CA_ConnectionFromIpNotAllowed

Too Many Active Connections Raise A Custom Alert
    Start Detection Lab    groups=${COUNTS}    security_group=fleet-a    telemetry_interval=0
    Send Traffic    udp_flows    peer1    ${DEVICE_ID}    dport=7    flows=30    sport_base=43000
    ${alert}=    Wait For Alert    IoT_CA_ActiveConnectionsNotInAllowedRange    device=${DEVICE_ID}    timeout=60
    Should Be True    ${alert}[evidence][count] > 12

Too Many Device-To-Cloud Messages Raise A Custom Alert
    Start Detection Lab    groups=${COUNTS}    security_group=fleet-a    telemetry_interval=1
    ${alert}=    Wait For Alert    IoT_CA_MqttD2CMessagesNotInAllowedRange    device=${DEVICE_ID}    timeout=60
    Should Be True    ${alert}[evidence][count] > 8
    No Alert Should Be Raised    type=IoT_CA_ActiveConnectionsNotInAllowedRange
