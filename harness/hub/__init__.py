"""The local IoT Hub: mosquitto behind an IoT Hub-dialect gateway, a device registry, a recorder."""
