"""Tests of the example app, written with the testing kit only."""
