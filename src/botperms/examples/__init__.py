"""Bots that ship with botperms."""
